"""The notebook pipeline: text sources -> ``.ipynb`` -> nbgrader releases and executed solutions.

An instructor edits ``source/<tp>/<tp>.nb.py`` (a jupytext percent script). From it:

* :func:`build_source_notebook` writes ``source/<tp>/<tp>.ipynb`` (generated, outputs stripped);
* :func:`release` runs ``nbgrader generate_assignment``, which the course configures
  (``tpdl.nbgrader_ext.KitRelease``) to end with :func:`finish_release`: the solution regions of the
  deliverable templates (``app.py``, ``Dockerfile``...) that nbgrader copies as they are become
  stubs, ``handin.json`` is written, and the leak finder runs. formgrader's *Generate* button runs
  the same;
* :func:`solutions` runs ``nbgrader generate_solution`` and executes the result on the ``ci`` budget;
* :func:`find_leaks` lists anything in a release that holds solution material.
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jupytext
import nbformat

from tpdl import paths

BEGIN, END = "BEGIN SOLUTION", "END SOLUTION"
HIDDEN_MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
TEXT_SUFFIXES = {".py", ".txt", ".cfg", ".toml", ".yml", ".yaml", ".md", ".sh", ""}
PY_STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
TEXT_STUB = ("# YOUR CODE HERE",)
EXECUTE_TIMEOUT_S = 1200
# What running a notebook in source/ leaves behind: never part of a release (students hand it in).
RUN_OUTPUTS = ("mlflow.db", "mlruns", "mlartifacts", ".ipynb_checkpoints")
# A release's own nbgrader settings, for `nbgrader validate` run in the student's folder anywhere.
STUDENT_CONFIG = """\
\"\"\"nbgrader settings for validating this assignment in its own folder (`nbgrader validate`).\"\"\"

c = get_config()  # noqa: F821 - provided by nbgrader
# Validation runs the notebook on the kit's small `ci` budget: a few seconds per cell, but a
# first TensorFlow import or a training cell can take longer than nbgrader's default 30 s.
c.Execute.timeout = 300
c.Execute.interrupt_on_timeout = True
"""


def text_source(assignment: str) -> Path:
    return paths.source(assignment) / f"{assignment}.nb.py"


def build_source_notebook(assignment: str) -> Path:
    """Write ``source/<tp>/<tp>.ipynb`` from its jupytext text form, without outputs."""
    notebook = jupytext.read(text_source(assignment))
    for cell in notebook.cells:
        cell.metadata.pop("lines_to_next_cell", None)
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    notebook.metadata.pop("jupytext", None)
    notebook.metadata["kernelspec"] = {
        "display_name": "Python 3 (ipykernel)",
        "language": "python",
        "name": "python3",
    }
    target = paths.source(assignment) / f"{assignment}.ipynb"
    nbformat.write(notebook, target)
    return target


def _nbgrader(*args: str) -> None:
    command = [sys.executable, "-m", "nbgrader", *args, f"--CourseDirectory.root={paths.course_dir()}"]
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "PATH": path}
    done = subprocess.run(command, cwd=paths.course_dir(), env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"nbgrader {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")


def stub_text(text: str, python: bool) -> str:
    """Replace each ``BEGIN SOLUTION`` ... ``END SOLUTION`` region of a text file by a stub."""
    out, inside = [], False
    for line in text.splitlines(keepends=True):
        if BEGIN in line:
            if inside:
                raise ValueError("nested BEGIN SOLUTION")
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            out.extend(f"{indent}{stub}\n" for stub in (PY_STUB if python else TEXT_STUB))
        elif END in line:
            if not inside:
                raise ValueError("END SOLUTION without BEGIN SOLUTION")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError("BEGIN SOLUTION without END SOLUTION")
    return "".join(out)


def templates(folder: Path):
    """The deliverable templates of a TP folder: its text files other than the notebook and its source."""
    for path in sorted(folder.rglob("*")):
        if (
            path.is_file()
            and path.suffix != ".ipynb"
            and not path.name.endswith(".nb.py")
            and (path.suffix in TEXT_SUFFIXES or path.name.startswith("Dockerfile"))
        ):
            yield path


class LeakError(RuntimeError):
    """A release that holds solution material."""

    def __init__(self, assignment: str, leaks: list[str]):
        self.leaks = leaks
        super().__init__(
            f"release/{assignment} holds solution material, so it is not released:\n"
            + "\n".join(leaks)
            + f"\nKeep solutions between nbgrader's solution markers in source/{assignment}/ (in files"
            f" the kit stubs: {', '.join(sorted(TEXT_SUFFIXES - {''}))} or no suffix), then rebuild the"
            f" release with `{rebuild_command(assignment)}`."
        )


def rebuild_command(assignment: str) -> str:
    """The command that builds ``release/<assignment>/`` again."""
    if is_kit_assignment(assignment):
        return f"tpdl release {assignment}"
    return f"nbgrader generate_assignment {assignment} --force"


def is_kit_assignment(assignment: str) -> bool:
    """Whether ``assignment`` is one of the kit's TPs (its notebook has a text source), not a plain
    nbgrader assignment."""
    return text_source(assignment).is_file()


def release(assignment: str) -> Path:
    """Build the student version of ``assignment`` under ``release/`` (nbgrader's
    ``generate_assignment``, which ends with :func:`finish_release`)."""
    build_source_notebook(assignment)  # nbgrader looks for the .ipynb before anything of the kit's runs
    _nbgrader("generate_assignment", assignment, "--force")
    target = paths.release(assignment)
    leaks = find_leaks(assignment)
    if leaks:
        raise LeakError(assignment, leaks)
    from tpdl import check

    if not (target / check.HANDIN).is_file():
        raise RuntimeError(
            "nbgrader_config.py does not end releases the kit's way: set "
            "c.GenerateAssignment.exporter_class = 'tpdl.nbgrader_ext.KitRelease'"
        )
    return target


def finish_release(assignment: str) -> Path:
    """Make nbgrader's ``release/<a>/`` the students' own: every template's solution regions become
    stubs and, for a TP of the kit, what running the notebook left is removed and the release's
    ``nbgrader_config.py`` and ``handin.json`` are written. Raises :class:`LeakError` where the
    leak finder then finds solution material."""
    target = paths.release(assignment)
    if is_kit_assignment(assignment):
        for name in RUN_OUTPUTS:
            for path in list(target.rglob(name)):
                shutil.rmtree(path) if path.is_dir() else path.unlink()
        (target / "nbgrader_config.py").write_text(STUDENT_CONFIG)
        from tpdl import check  # what `tpdl check` tells the student, from the TP's manifest

        (target / check.HANDIN).write_text(json.dumps(check.handin(assignment), indent=2) + "\n")
    for path in templates(target):
        text = _read_template(path)
        if BEGIN in text:
            path.write_text(
                stub_text(text, python=path.suffix == ".py"), encoding="utf-8", errors="surrogateescape"
            )
    leaks = find_leaks(assignment)
    if leaks:
        raise LeakError(assignment, leaks)
    return target


def _read_template(path: Path) -> str:
    """A template's text; bytes that are not UTF-8 are kept as they are (surrogate escapes)."""
    return path.read_text(encoding="utf-8", errors="surrogateescape")


def execute(notebook, folder: Path, budget: str, timeout_s: int = EXECUTE_TIMEOUT_S) -> None:
    """Run ``notebook`` top to bottom in a fresh kernel whose working folder is ``folder``, on ``budget``."""
    from nbclient import NotebookClient

    previous = os.environ.get("TPDL_BUDGET")
    os.environ["TPDL_BUDGET"] = budget  # the kernel inherits the environment it starts in
    try:
        NotebookClient(notebook, timeout=timeout_s, kernel_name="python3",
                       resources={"metadata": {"path": str(folder)}}).execute()  # fmt: skip
    finally:
        if previous is None:
            os.environ.pop("TPDL_BUDGET", None)
        else:
            os.environ["TPDL_BUDGET"] = previous


def solutions(assignment: str, budget: str = "ci", run: bool = True) -> Path:
    """Write the solution notebook of ``assignment`` under ``solutions/`` and, with ``run``, execute it
    (nbval, which executes it itself, needs it unexecuted only)."""
    build_source_notebook(assignment)
    _nbgrader("generate_solution", assignment, "--force")
    folder = paths.solutions(assignment)
    path = folder / f"{assignment}.ipynb"
    if run:
        notebook = nbformat.read(path, as_version=4)
        execute(notebook, folder, budget)
        nbformat.write(notebook, path)
    return path


def _solution_lines(assignment: str) -> set[str]:
    """Distinctive lines of the solution regions of the source (notebook and templates)."""
    lines: set[str] = set()
    texts = [text_source(assignment).read_text()] if is_kit_assignment(assignment) else []
    texts += [_read_template(p) for p in templates(paths.source(assignment)) if not p.name.endswith(".nb.py")]
    for text in texts:
        for region in re.findall(rf"{BEGIN}[^\n]*\n(.*?)\n[^\n]*{END}", text, flags=re.S):
            for line in region.splitlines():
                line = line.strip().lstrip("#").strip()
                if len(line) >= 12 and not line.startswith(("return ", "raise NotImplementedError")):
                    lines.add(line)
    return lines


def find_leaks(assignment: str, folder: Path | None = None) -> list[str]:
    """``file: what`` for every piece of solution material found in ``release/<tp>/`` (or ``folder``):
    a notebook's text source, a hidden marker (in text or binary files), a line of the solutions."""
    findings = []
    solution = _solution_lines(assignment)
    for path in sorted((folder or paths.release(assignment)).rglob("*")):
        if not path.is_file():
            continue
        relative = Path(os.path.relpath(path, paths.course_dir()))
        if path.name.endswith(".nb.py"):
            findings.append(f"{relative}: the notebook's text source")
            continue
        data = path.read_bytes()
        try:
            text = data.decode()
        except UnicodeDecodeError:
            findings += [f"{relative}: marker {m!r}" for m in HIDDEN_MARKERS if m.encode() in data]
            continue
        lines = text
        if path.suffix == ".ipynb":  # markers anywhere in it (outputs too); solution lines in its cells
            lines = "\n".join(cell.source for cell in nbformat.reads(text, as_version=4).cells)
            text += "\n" + lines
        findings += [f"{relative}: marker {m!r}" for m in HIDDEN_MARKERS if m in text]
        stripped = {line.strip().lstrip("#").strip() for line in lines.splitlines()}
        findings += [f"{relative}: solution line {line!r}" for line in sorted(solution & stripped)]
    return findings
