"""Hands in code cells whose saved outputs load from outside: HTML images, frames and styles, an SVG
image, markdown images (a beacon, and requests to the instructor's own Jupyter server).

kind: edit
proof: ATTACK-REMOTE-OUTPUTS
"""

import json

BEACON = "https://beacon.example/seen.png?student=me"
LOCAL = "http://127.0.0.1:8888/api/contents"
OUTPUTS = [
    {"output_type": "display_data", "metadata": {},
     "data": {"text/html": f'<img src="{BEACON}"><iframe src="{LOCAL}"></iframe><link rel=stylesheet href="{BEACON}">'
                           f'<div style="background:url(//beacon.example/x)">x</div>',
              "image/svg+xml": f'<svg xmlns="http://www.w3.org/2000/svg"><image href="{BEACON}"/></svg>',
              "text/markdown": f"![beacon]({BEACON}) ![local]({LOCAL})", "text/plain": "harmless"}},
    {"output_type": "execute_result", "execution_count": 1, "metadata": {},
     "data": {"text/html": f'<video poster="{BEACON}"></video><img srcset="{LOCAL} 1x">', "text/plain": "x"}},
]  # fmt: skip


def edit(folder):
    path = folder / "tp2.ipynb"
    notebook = json.loads(path.read_text())
    notebook["cells"].append({"cell_type": "code", "metadata": {}, "execution_count": 1,
                              "source": "# ATTACK-REMOTE-OUTPUTS", "outputs": OUTPUTS})  # fmt: skip
    path.write_text(json.dumps(notebook))
