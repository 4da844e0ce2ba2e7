"""Does the student run what the judge runs: do Validate and ``tpdl check`` fail a function that
needs a cell skipped at grading, naming that cell, and pass the reference?"""

import io
import json
import os
import re
import subprocess
import sys

import nbformat
import numpy as np
import pytest

from tpdl.authoring import catalogue, notebooks
from tpdl.core import paths
from tpdl.grading import check
from tpdl.judge import judge_state, protocol
from tpdl.judge.worker.notebook import execute_notebook

CATALOGUE = paths.course_dir() / "tests" / "catalogue"
# The catalogue's wrong answers that rely on a skipped cell, and what the message must name.
RELIES_ON_A_SKIPPED_CELL = {
    "tp1": ("log_training--fail--module-imported-by-the-training-cell.py", "`log_training` uses `time`"),
    "tp2": ("train_and_log--fail--epochs-of-a-skipped-cell.py", "`train_and_log` uses `EPOCHS`"),
    "tp3": ("build_resnet--fail--augmentation-of-the-training-cell.py", "`build_resnet` uses `augmentation`"),
    "tp4": (
        "build_conv3d_net--fail--widths-of-the-unet-training-cell.py",
        "`build_conv3d_net` uses `UNET_FILTERS`",
    ),
    "tp5": (
        "build_frame_autoencoder--fail--depth-of-the-reversal-cell.py",
        "`build_frame_autoencoder` uses `DEPTH`",
    ),
}


# Those that rely on state (an attribute, a key) that only a skipped cell sets.
SETS_STATE_IN_A_SKIPPED_CELL = {
    "tp1": (
        "log_training--fail--module-attribute-set-by-the-training-cell.py",
        "`log_training` reads `np.FLOAT`",
    ),
}
CHECKED = [(assignment, RELIES_ON_A_SKIPPED_CELL) for assignment in sorted(RELIES_ON_A_SKIPPED_CELL)] + [
    (assignment, SETS_STATE_IN_A_SKIPPED_CELL) for assignment in sorted(SETS_STATE_IN_A_SKIPPED_CELL)
]


def grade_cell(source, grade_id, **metadata):
    cell = nbformat.v4.new_code_cell(source, metadata=metadata)
    cell.metadata["nbgrader"] = {
        "grade": True,
        "grade_id": grade_id,
        "locked": True,
        "points": 1,
        "schema_version": 3,
        "solution": False,
        "task": False,
    }
    return cell


def solution_cell(source, grade_id):
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["nbgrader"] = {
        "grade": False,
        "grade_id": grade_id,
        "locked": False,
        "schema_version": 3,
        "solution": True,
        "task": False,
    }
    return cell


def small_notebook(skipped_source="import math\nFACTOR = 2"):
    """A notebook whose ``double`` reads ``FACTOR`` and whose ``root`` reads ``math`` through a helper;
    ``skipped_source`` is its cell tagged skip-grading (cell 2)."""
    return nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("# A small assignment"),
            nbformat.v4.new_code_cell("import json"),
            nbformat.v4.new_code_cell(skipped_source, metadata={"tags": [judge_state.SKIP_TAG]}),
            solution_cell("def double(x):\n    return FACTOR * x", "double"),
            grade_cell("assert double(2) == 4", "double_tests"),
            nbformat.v4.new_code_cell("def _helper(x):\n    return math.sqrt(x)"),
            solution_cell("def root(x):\n    return _helper(x)", "root"),
            grade_cell("print(root(4))", "root_tests", tags=[judge_state.SKIP_TAG]),
            nbformat.v4.new_markdown_cell("The end."),
        ]
    )


def judge_run(tmp_path, notebook):
    path = tmp_path / "small.ipynb"
    nbformat.write(notebook, path)
    namespace, records = execute_notebook(str(path), [judge_state.SKIP_TAG])
    cells = judge_state.code_cells(json.loads(path.read_text()))
    names = judge_state.unbound(namespace, judge_state.solution_functions(cells))
    return cells, [protocol.plain(record) for record in records], names


def test_the_names_only_a_skipped_cell_binds_are_found_through_helpers(tmp_path):
    cells, records, names = judge_run(tmp_path, small_notebook())
    assert judge_state.solution_functions(cells) == ["double", "root"]
    assert names == {"double": ["FACTOR"], "root": ["math"]}  # root reads math through _helper
    assert [r["status"] for r in records] == ["ok", "skipped", "ok", "error", "ok", "ok", "skipped"]
    messages = [problem.message for problem in judge_state.problems(cells, records, names)]
    assert messages[0].startswith(
        "cell 4 (`double_tests`) fails when the notebook is run as at grading: `FACTOR`"
    )
    assert "only by cell 2 (`import math`)" in messages[0]
    assert "`double` uses `FACTOR`, which only cell 2 (`import math`) defines" in messages[1]
    assert "`root` uses `math`, which only cell 2 (`import math`) imports" in messages[2]
    assert "Import it in the cell that defines root" in messages[2]


def test_nothing_is_reported_when_a_cell_run_at_grading_binds_the_names_too(tmp_path):
    notebook = small_notebook()
    notebook.cells[1].source = "import json\nimport math\nFACTOR = 2"
    cells, records, names = judge_run(tmp_path, notebook)
    assert names == {} and judge_state.problems(cells, records, names) == []


def state_notebook(function_source, skipped_source, helper="CONFIG = {}"):
    """A notebook whose graded ``f`` is ``function_source``, with its own visible test tagged
    skip-grading, ``helper`` in a cell run at grading and ``skipped_source`` in a cell tagged skip-grading."""
    return nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(f"import os\nimport numpy as np\n{helper}"),
            solution_cell(function_source, "f"),
            grade_cell("print(f(2.0))", "f_tests", tags=[judge_state.SKIP_TAG]),
            nbformat.v4.new_code_cell(skipped_source, metadata={"tags": [judge_state.SKIP_TAG]}),
        ]
    )


@pytest.fixture
def process_state_restored():
    """The judge's runs here are in this process: what their cells set on numpy and the environment goes."""
    yield
    vars(np).pop("FLOAT", None)
    os.environ.pop("TP1_UNITS", None)


@pytest.mark.parametrize(
    ("function_source", "skipped_source", "named"),
    [
        (
            "def f(value):\n    return np.FLOAT(value)",
            "np.FLOAT = float",
            "`f` reads `np.FLOAT`, which only cell 4",
        ),
        ("def f(value):\n    return f.fmt(value)", "f.fmt = float", "`f` reads `f.fmt`, which only cell 4"),
        (
            'def f(value):\n    return globals()["FACTOR"] * value',
            "FACTOR = 1.0",
            "`f` reads `FACTOR`, which only",
        ),
        (
            'def f(value):\n    return CONFIG["scale"] * value',
            'CONFIG["scale"] = 255.0',
            "`f` reads `CONFIG['scale']`",
        ),
        (
            'def f(value):\n    return int(os.environ.get("TP1_UNITS"))',
            'os.environ["TP1_UNITS"] = "64"',
            "`f` reads `os.environ['TP1_UNITS']`, which only cell 4",
        ),
        (
            'def f(value):\n    return os.getenv("TP1_UNITS")',
            'os.environ["TP1_UNITS"] = "64"',
            "`f` reads `os.environ['TP1_UNITS']`",
        ),
        (
            "def f(value):\n    return value * UNITS",
            'globals()["UNITS"] = 512',
            "`f` uses `UNITS`, which only cell 4",
        ),
        (
            "def f(value):\n    return value * BATCH",
            'exec("BATCH = 128")',
            "`f` uses `BATCH`, which only cell 4",
        ),
        (
            "def f(value):\n    return value * BATCH",
            "setup()",
            "`f` uses `BATCH`, which only cell 4 (`setup()`)",
        ),
        ("def f(value):\n    return sqrt(value)", "from math import *", "`f` uses `sqrt`, which cell 4"),
    ],
)
def test_state_only_a_skipped_cell_sets_is_named(
    tmp_path, process_state_restored, function_source, skipped_source, named
):
    notebook = state_notebook(
        function_source, skipped_source, helper="CONFIG = {}\ndef setup():\n    global BATCH\n    BATCH = 128"
    )
    cells, records, names = judge_run(tmp_path, notebook)
    messages = [problem.message for problem in judge_state.problems(cells, records, names)]
    assert len(messages) == 1 and named in messages[0] and "skip-grading" in messages[0], messages
    notebook.cells.insert(2, nbformat.v4.new_code_cell(skipped_source))  # also set where it is run at grading
    cells, records, names = judge_run(tmp_path, notebook)
    assert judge_state.problems(cells, records, names) == []


@pytest.mark.parametrize(
    ("function_source", "skipped_source", "named"),
    [
        (
            'def f(value):\n    return CONFIG["scale"] * value',
            'CONFIG["scale"] = 255.0',
            "(KeyError: 'scale'): `CONFIG['scale']` is set only by cell 4 (`CONFIG[\"scale\"] = 255.0`)",
        ),
        (
            "def f(value):\n    return np.FLOAT(value)",
            "np.FLOAT = float",
            "has no attribute 'FLOAT'): `np.FLOAT` is set only by cell 4 (`np.FLOAT = float`)",
        ),
        (
            'def f(value):\n    return globals()["FACTOR"] * value',
            "FACTOR = 1.0",
            "(KeyError: 'FACTOR'): `FACTOR` is set only by cell 4 (`FACTOR = 1.0`)",
        ),
        (
            "def f(value):\n    return sqrt(value)",
            "from math import *",
            "cell 4 (`from math import *`) may have bound it with `from math import *`",
        ),
        ("def f(value):\n    return value * BATCH", "exec(source)", "may have bound it with `exec(...)`"),
    ],
)
def test_a_visible_test_failing_on_state_a_skipped_cell_sets_names_that_cell(
    tmp_path, function_source, skipped_source, named
):
    notebook = state_notebook(function_source, skipped_source)
    notebook.cells[2].metadata.tags = []  # the visible test runs at grading, and fails
    cells, records, names = judge_run(tmp_path, notebook)
    messages = [problem.message for problem in judge_state.problems(cells, records, names)]
    assert messages[0].startswith("cell 3 (`f_tests`) fails when the notebook is run as at grading ("), (
        messages
    )
    assert named in messages[0], messages


def test_a_name_guarded_by_except_name_error_is_not_reported(tmp_path):
    guarded = (
        "def f(value):\n    try:\n        return time.perf_counter()\n    except NameError:\n"
        "        return value"
    )
    cells, records, names = judge_run(tmp_path, state_notebook(guarded, "import time"))
    assert names == {"f": ["time"]} and judge_state.problems(cells, records, names) == []
    unguarded = "def f(value):\n    return time.perf_counter()"
    cells, records, names = judge_run(tmp_path, state_notebook(unguarded, "import time"))
    assert "`f` uses `time`" in judge_state.problems(cells, records, names)[0].message


def test_state_a_function_sets_itself_is_not_reported_when_a_skipped_cell_calls_it(tmp_path):
    caches = (
        'def f(value):\n    global BATCH\n    BATCH = 128\n    CONFIG["scale"] = 2.0\n'
        '    return CONFIG["scale"] * BATCH'
    )
    cells, records, names = judge_run(tmp_path, state_notebook(caches, "f(1.0)"))
    assert {"BATCH", "CONFIG['scale']"} <= cells[3].writes  # the skipped cell sets them, through f
    assert judge_state.problems(cells, records, names) == []


def validate(folder, notebook_name) -> str:
    """``nbgrader validate`` in ``folder`` with the release's own settings, as a student runs it."""
    (folder / "nbgrader_config.py").write_text(notebooks.STUDENT_CONFIG["en"])
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
    done = subprocess.run(
        [sys.executable, "-m", "nbgrader", "validate", notebook_name],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    return done.stdout


def test_validate_fails_the_grade_cell_of_a_function_that_needs_a_skipped_cell(tmp_path):
    nbformat.write(small_notebook(), tmp_path / "small.ipynb")
    shown = validate(tmp_path, "small.ipynb")
    assert "VALIDATION FAILED ON 2 CELL(S)" in shown, shown
    joined = " ".join(shown.split())  # nbgrader indents and the kit wraps the message
    assert "`double` uses `FACTOR`, which only cell 2 (`import math`) defines" in joined
    assert "`root` uses `math`, which only cell 2 (`import math`) imports" in joined
    assert list(tmp_path.glob("*.tpdl-judge-state*")) == []


def test_validate_passes_a_notebook_the_judge_runs_as_it_is(tmp_path):
    notebook = small_notebook()
    notebook.cells[1].source = "import json\nimport math\nFACTOR = 2"
    nbformat.write(notebook, tmp_path / "small.ipynb")
    shown = validate(tmp_path, "small.ipynb")
    assert "Success! Your notebook passes all the tests." in shown, shown


def build(tmp_path, assignment, wrong=RELIES_ON_A_SKIPPED_CELL):
    entry = catalogue.load(CATALOGUE / assignment / wrong[assignment][0])
    reference = paths.sample_submission("reference", assignment)
    return catalogue.build(entry, reference, tmp_path / assignment, f"{assignment}.ipynb")


@pytest.mark.slow
@pytest.mark.parametrize(("assignment", "wrong"), CHECKED, ids=[wrong[a][0] for a, wrong in CHECKED])
def test_check_reports_a_wrong_answer_that_relies_on_a_skipped_cell(
    released, zygote, tmp_path, assignment, wrong
):
    out = io.StringIO()
    code = check.main(assignment, build(tmp_path, assignment, wrong), out=out, zygote=zygote)
    shown = out.getvalue()
    assert code == 1 and "TODO the notebook as it is graded" in shown, shown
    assert wrong[assignment][1] in " ".join(shown.split()) and "which only cell " in shown, shown
    out = io.StringIO()
    check.main(assignment, paths.sample_submission("reference", assignment), out=out, zygote=zygote)
    assert "ok   the notebook as it is graded" in out.getvalue(), out.getvalue()


@pytest.mark.slow
@pytest.mark.parametrize(("assignment", "wrong"), CHECKED, ids=[wrong[a][0] for a, wrong in CHECKED])
def test_validations_run_of_the_notebook_reports_a_wrong_answer_that_relies_on_a_skipped_cell(
    tmp_path, assignment, wrong
):
    """The judge's run that Validate makes beside nbgrader's (the whole Validate: the tp2 test below)."""
    folder = build(tmp_path, assignment, wrong)
    notebook = json.loads((folder / f"{assignment}.ipynb").read_text())
    found = judge_state.Apart(folder, notebook).problems()
    assert any(wrong[assignment][1] in problem.message for problem in found), found
    assert all(problem.cell is not None and problem.cell.grade for problem in found), found


@pytest.mark.slow
def test_validate_reports_the_tp2_wrong_answer_and_only_it(tmp_path):
    """The wrong answer differs from TP2's reference in one cell: Validate fails that cell, passes every
    other and changes no file of the folder (a whole reference passes Validate in JupyterLab, in
    ``test_a_student_fetches_validates_and_submits_in_jupyterlab``)."""
    wrong = build(tmp_path / "wrong", "tp2")
    handed_in = {p: p.read_bytes() for p in sorted(wrong.rglob("*")) if p.is_file()}
    shown = " ".join(validate(wrong, "tp2.ipynb").split())
    settings = wrong / "nbgrader_config.py"  # what validate() wrote for nbgrader
    assert {p: p.read_bytes() for p in sorted(wrong.rglob("*")) if p.is_file() and p != settings} == handed_in
    assert "VALIDATION FAILED ON 1 CELL(S)" in shown, shown
    assert re.search(
        r"`train_and_log` uses `EPOCHS`, which only cell \d+ \(`train_and_log_tests`\) defines", shown
    )
