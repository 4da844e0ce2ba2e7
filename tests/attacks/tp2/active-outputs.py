"""Hands in code cells whose saved outputs hold scripts: HTML, JavaScript, SVG, a widget, a forged error.

kind: edit
proof: ATTACK-OUTPUTS-SOURCE
"""

import json

OUTPUTS = [
    {"output_type": "display_data", "metadata": {},
     "data": {"text/html": "<script>alert('html')</script><img src=x onerror=alert(1)>",
              "application/javascript": "alert('js')", "image/svg+xml": "<svg onload=\"alert('svg')\"/>",
              "application/vnd.jupyter.widget-view+json": {"model_id": "x", "version_major": 2, "version_minor": 0},
              "text/plain": "harmless"}},
    {"output_type": "execute_result", "execution_count": 1, "metadata": {},
     "data": {"text/html": "<iframe src='javascript:alert(2)'></iframe>", "text/markdown": "<script>alert(3)</script>"}},
    {"output_type": "error", "ename": "<script>", "evalue": "alert(4)", "traceback": ["\x1b[31m<script>alert(5)</script>"]},
    {"output_type": "stream", "name": "stdout", "text": "\x1b]52;c;cHduZWQ=\x07<script>alert(6)</script>"},
]  # fmt: skip


def edit(folder):
    path = folder / "tp2.ipynb"
    notebook = json.loads(path.read_text())
    notebook["cells"].append({"cell_type": "code", "metadata": {}, "execution_count": 1,
                              "source": "# ATTACK-OUTPUTS-SOURCE", "outputs": OUTPUTS})  # fmt: skip
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code":
            cell["outputs"] = OUTPUTS
    notebook["metadata"]["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    path.write_text(json.dumps(notebook))
