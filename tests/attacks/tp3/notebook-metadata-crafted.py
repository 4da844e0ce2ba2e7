"""Hands in a notebook whose cells have metadata of every wrong type (lists, strings, numbers, forged grade ids).

kind: edit
proof: ATTACK notebook-metadata-crafted: ran
"""

import json


def edit(folder):
    path = folder / "tp3.ipynb"
    notebook = json.loads(path.read_text())
    cells = notebook["cells"]
    for index, cell in enumerate(cells):
        kind = index % 5
        if kind == 0:
            cell["metadata"] = ["not", "a", "dict"]
        elif kind == 1:
            cell["metadata"] = {"nbgrader": "a string", "tags": {"skip-grading": True}}
        elif kind == 2:
            cell["metadata"] = {"nbgrader": {"grade_id": {"nested": 1}, "points": "NaN", "grade": "yes"}}
        elif kind == 3:
            cell["metadata"] = {"nbgrader": {"grade_id": cells[0].get("metadata", {}), "solution": [1]}}
    cells.append({"cell_type": "code", "metadata": 7, "source": 'print("ATTACK notebook-metadata-crafted: ran")',
                  "outputs": "none", "execution_count": "x"})  # fmt: skip
    cells.append({"cell_type": "strange", "source": 12})
    cells.append("not a cell")
    path.write_text(json.dumps(notebook))
