"""Hands in thousands of empty files, so that staging and fingerprinting would never end.

kind: edit
proof: it holds more than 2,000 files and folders
"""


def edit(folder):
    spam = folder / "spam"
    spam.mkdir()
    for index in range(2500):
        (spam / f"{index:05d}.txt").touch()
