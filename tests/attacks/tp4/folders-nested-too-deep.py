"""Nests folders forty deep, past any recursion a copy or a fingerprint would survive.

kind: edit
proof: its folders are nested more than 12 deep
"""


def edit(folder):
    deep = folder
    for level in range(40):
        deep = deep / f"level{level}"
    deep.mkdir(parents=True)
    (deep / "dice.py").write_text("ANSWER = 1\n")
