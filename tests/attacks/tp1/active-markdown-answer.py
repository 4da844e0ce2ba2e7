"""Writes markdown and raw cells that would run scripts in formgrader (the instructor's Jupyter server).

kind: edit
proof: ATTACK-MARKDOWN-VISIBLE
"""

import json

MARKDOWN = """ATTACK-MARKDOWN-VISIBLE
<script>fetch('/api/kernels', {method: 'POST'})</script>
<img src="x" onerror="alert('img')">
<svg onload="alert('svg')"><circle r="1"/></svg>
<iframe src="javascript:alert('frame')"></iframe>
<a href="javascript:alert('link')">a link</a> and [another](javascript:alert('markdown'))
<style>body { display: none }</style>
<form action="/api/contents"><button formaction="javascript:alert(1)">go</button></form>
<div style="background:url(javascript:alert(1))">styled</div>
"""


def edit(folder):
    path = folder / "tp1.ipynb"
    notebook = json.loads(path.read_text())
    notebook["cells"].insert(1, {"cell_type": "markdown", "metadata": {}, "source": MARKDOWN})
    notebook["cells"].append({"cell_type": "raw", "metadata": {"raw_mimetype": "text/html", "format": "text/html"},
                              "source": "<script>alert('raw')</script>"})  # fmt: skip
    notebook["cells"].append({"cell_type": "markdown", "metadata": {},
                              "attachments": {"x.svg": {"image/svg+xml": "<svg onload='alert(1)'/>"}},
                              "source": "![x](attachment:x.svg)"})  # fmt: skip
    path.write_text(json.dumps(notebook))
