"""The notebook pipeline: text sources -> ``.ipynb`` -> nbgrader releases and executed solutions.

An instructor edits ``source/<tp>/<tp>.nb.py`` (a jupytext percent script). From it:

* :func:`build_source_notebook` writes ``source/<tp>/<tp>.ipynb`` (generated, outputs stripped);
* :func:`release` runs ``nbgrader generate_assignment``, which the course configures
  (``tpdl.classroom.nbgrader_ext.KitRelease``) to end with :func:`finish_release`: the solution regions of the
  deliverable templates (``app.py``, ``Dockerfile``...) that nbgrader copies as they are become
  stubs, ``handin.json`` is written, and the leak finder runs. formgrader's *Generate* button runs
  the same;
* :func:`solutions` runs ``nbgrader generate_solution`` and executes the result on the ``ci`` budget;
* :func:`find_leaks` lists anything in a release that holds solution material.
"""

import base64
import binascii
import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import jupytext
import nbformat

from tpdl.core import manifest, paths

BEGIN, END = "BEGIN SOLUTION", "END SOLUTION"
HIDDEN_MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
# The forms a marker takes in a file's bytes, besides UTF-8 (a template saved by a Windows editor);
# a marker in UTF-16-BE text is also found as UTF-16-LE one byte off: both are named UTF-16.
WIDE_ENCODINGS = {"utf-16-le": "UTF-16", "utf-16-be": "UTF-16", "utf-32-le": "UTF-32", "utf-32-be": "UTF-32"}
# Compressed archives, by their first bytes (zip files are found by `zipfile`): the leak finder
# cannot read inside them, so a release holds none.
ARCHIVES = {
    b"\x1f\x8b": "gzip",
    b"\xfd7zXZ\x00": "xz",
    b"(\xb5/\xfd": "zstd",
    b"7z\xbc\xaf'\x1c": "7z",
    b"Rar!\x1a\x07": "rar",
}
TEXT_SUFFIXES = {".py", ".txt", ".cfg", ".toml", ".yml", ".yaml", ".md", ".sh", ""}
PY_STUB = ("# YOUR CODE HERE", "raise NotImplementedError()")
TEXT_STUB = ("# YOUR CODE HERE",)
EXECUTE_TIMEOUT_S = 1200
# What running a notebook in source/ leaves behind is never part of a release (students hand it in;
# the instructor's run holds the solution): these names, the TP manifest's `run_outputs` (its models
# and figures), every saved model and every database, by suffix, and a TensorFlow SavedModel folder.
RUN_OUTPUTS = ("mlflow.db", "mlruns", "mlartifacts", ".ipynb_checkpoints")
MODEL_SUFFIXES = (
    ".keras",
    ".h5",
    ".hdf5",
    ".pb",
    ".tflite",
    ".onnx",
    ".pt",
    ".pth",
    ".ckpt",
    ".safetensors",
    ".pkl",
    ".pickle",
    ".joblib",
)
STORE_SUFFIXES = (".db", ".sqlite", ".sqlite3")
# A release's own nbgrader settings, for `nbgrader validate` run in the student's folder anywhere, in the
# edition's language.
STUDENT_CONFIG = {
    "en": """\
\"\"\"nbgrader settings for validating this assignment in its own folder (`nbgrader validate`).\"\"\"

c = get_config()  # noqa: F821 - provided by nbgrader
# Validation runs the notebook on the kit's small `ci` budget: a few seconds per cell, but a
# first TensorFlow import or a training cell can take longer than nbgrader's default 30 s.
c.Execute.timeout = 300
c.Execute.interrupt_on_timeout = True
# It also runs the notebook as the judge does (cells tagged skip-grading skipped): a function that
# needs a skipped cell fails its grade cell, with a message naming that cell.
from tpdl.judge import judge_state  # noqa: E402

c.Validator.Execute.on_cell_start = judge_state.on_cell_start
""",
    "fr": """\
\"\"\"Réglages de nbgrader pour valider ce devoir dans son propre dossier (`nbgrader validate`).\"\"\"

c = get_config()  # noqa: F821 - fourni par nbgrader
# La validation exécute le notebook avec le petit budget `ci` du kit\u00a0: quelques secondes par
# cellule, mais le premier import de TensorFlow ou une cellule d'entraînement peut dépasser les 30 s
# accordées par défaut par nbgrader.
c.Execute.timeout = 300
c.Execute.interrupt_on_timeout = True
# Elle exécute aussi le notebook comme le correcteur (les cellules marquées skip-grading sont
# ignorées)\u00a0: une fonction qui a besoin d'une cellule ignorée fait échouer sa cellule notée, avec
# un message qui nomme cette cellule.
from tpdl.judge import judge_state  # noqa: E402

c.Validator.Execute.on_cell_start = judge_state.on_cell_start
""",
}


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


class ReleaseError(RuntimeError):
    """A release the kit refuses to hand out; the message says why and how to rebuild it."""


class LeakError(ReleaseError):
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
    from tpdl.grading import check

    if not (target / check.HANDIN).is_file():
        raise RuntimeError(
            "nbgrader_config.py does not end releases the kit's way: set "
            "c.GenerateAssignment.exporter_class = 'tpdl.classroom.nbgrader_ext.KitRelease'"
        )
    return target


def finish_release(assignment: str) -> list[str]:
    """Make nbgrader's ``release/<a>/`` the students' own: what running a notebook left
    (:func:`run_outputs`) is removed, every template's solution regions become stubs and, for a TP
    of the kit, the release's ``nbgrader_config.py`` and ``handin.json`` are written. Raises
    :class:`ReleaseError` for a template that is not UTF-8 (it could not be stubbed) and
    :class:`LeakError` where the leak finder then finds solution material. Returns what was removed,
    as paths from the course."""
    target = paths.release(assignment)
    removed = []
    for path in run_outputs(assignment, target):
        shutil.rmtree(path) if path.is_dir() else path.unlink()
        removed.append(os.path.relpath(path, paths.course_dir()))
    if is_kit_assignment(assignment):
        (target / "nbgrader_config.py").write_text(STUDENT_CONFIG[paths.language_of(assignment)])
        from tpdl.grading import check  # what `tpdl check` tells the student, from the TP's manifest

        (target / check.HANDIN).write_text(json.dumps(check.handin(assignment), indent=2) + "\n")
    texts = {path: _utf8_template(assignment, path) for path in templates(target)}
    for path, text in texts.items():
        if BEGIN in text:
            path.write_text(stub_text(text, python=path.suffix == ".py"), encoding="utf-8")
    leaks = find_leaks(assignment)
    if leaks:
        raise LeakError(assignment, leaks)
    return removed


def _utf8_template(assignment: str, path: Path) -> str:
    """The text of a template of the release, which must be UTF-8: the kit finds and stubs its
    solution regions only in UTF-8 text."""
    data = path.read_bytes()
    if b"\0" not in data:  # NUL is valid UTF-8, but no text template holds one (UTF-16 text does)
        with contextlib.suppress(UnicodeDecodeError):
            return data.decode("utf-8")
    import charset_normalizer

    guess = charset_normalizer.from_bytes(data).best()
    relative = path.relative_to(paths.release(assignment))
    raise ReleaseError(
        f"release/{assignment}/{relative} is not UTF-8 text (it looks like "
        f"{guess.encoding if guess else 'binary data'}): the kit stubs solution regions in UTF-8 templates "
        f"only, so {assignment} is not released. Save source/{assignment}/{relative} as UTF-8, then rebuild "
        f"the release with `{rebuild_command(assignment)}`."
    )


def run_outputs(assignment: str, folder: Path) -> list[Path]:
    """What running a notebook left in ``folder`` (a release), which no release holds: the names of
    :data:`RUN_OUTPUTS` and of the TP manifest's ``run_outputs``, anything ending in one of
    :data:`MODEL_SUFFIXES` or :data:`STORE_SUFFIXES`, and a folder holding ``saved_model.pb``."""
    names = set(RUN_OUTPUTS)
    listed = paths.graders(assignment) / manifest.FILE
    if listed.is_file():
        names |= set(manifest.read(listed).run_outputs)
    found = []
    for root, folders, files in os.walk(folder):
        for name in folders + files:
            path = Path(root) / name
            if (
                name in names
                or path.relative_to(folder).as_posix() in names
                or name.lower().endswith(MODEL_SUFFIXES + STORE_SUFFIXES)
                or (name in folders and (path / "saved_model.pb").is_file())
            ):
                found.append(path)
        folders[:] = [name for name in folders if Path(root) / name not in found]
    return sorted(found)


def _read_template(path: Path) -> str:
    """A source template's text; bytes that are not UTF-8 are kept as they are (surrogate escapes)."""
    return path.read_text(encoding="utf-8", errors="surrogateescape")


def execute(notebook, folder: Path, budget: str, timeout_s: int = EXECUTE_TIMEOUT_S) -> None:
    """Run ``notebook`` top to bottom in a fresh kernel whose working folder is ``folder``, on ``budget``."""
    from nbclient import NotebookClient

    previous = os.environ.get("TPDL_BUDGET")
    os.environ["TPDL_BUDGET"] = budget  # the kernel inherits the environment it starts in
    try:
        NotebookClient(
            notebook, timeout=timeout_s, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
        ).execute()
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


def solution_lines(assignment: str) -> set[str]:
    """Distinctive lines of the solution regions of the source (notebooks and templates)."""
    lines: set[str] = set()
    source = paths.source(assignment)
    texts = [text_source(assignment).read_text()] if is_kit_assignment(assignment) else []
    texts += [_read_template(p) for p in templates(source) if not p.name.endswith(".nb.py")]
    for path in sorted(source.rglob("*.ipynb")):  # the TP's notebook, and any other of the assignment
        if ".ipynb_checkpoints" not in path.parts:
            texts += [cell.source for cell in nbformat.read(path, as_version=4).cells]
    for text in texts:
        for region in re.findall(rf"{BEGIN}[^\n]*\n(.*?)\n[^\n]*{END}", text, flags=re.S):
            for line in region.splitlines():
                line = line.strip().lstrip("#").strip()
                if len(line) >= 12 and not line.startswith(("return ", "raise NotImplementedError")):
                    lines.add(line)
    return lines


def find_leaks(assignment: str, folder: Path | None = None) -> list[str]:
    """``file: what`` for every piece of solution material found in ``release/<tp>/`` (or ``folder``):
    a notebook's text source, what running a notebook leaves (:func:`run_outputs`), a compressed
    archive (which it cannot read), a hidden marker (in any file's bytes, as UTF-8, UTF-16 or
    UTF-32; in a notebook's raw JSON, cells, metadata and attachments), a line of the solutions."""
    findings = []
    solution = solution_lines(assignment)
    folder = folder or paths.release(assignment)
    outputs = run_outputs(assignment, folder)
    for path in sorted(folder.rglob("*")):
        relative = Path(os.path.relpath(path, paths.course_dir()))
        if path in outputs:
            findings.append(f"{relative}: what a run of the notebook writes (a model, a store, a figure)")
            continue
        if not path.is_file() or any(path.is_relative_to(output) for output in outputs):
            continue
        if path.name.endswith(".nb.py"):
            findings.append(f"{relative}: the notebook's text source")
            continue
        data = path.read_bytes()
        archive = _archive(path, data)
        if archive:
            findings.append(f"{relative}: a compressed archive ({archive}): the leak finder cannot read it")
            continue
        text, blobs = data.decode(errors="replace"), [data]
        lines = text if b"\0" not in data else ""
        if path.suffix == ".ipynb" and lines:
            lines, attachments = _notebook_material(lines)
            text += "\n" + lines
            blobs += attachments
        findings += [f"{relative}: {marker}" for marker in _markers(text, blobs)]
        stripped = {line.strip().lstrip("#").strip() for line in lines.splitlines()}
        findings += [f"{relative}: solution line {line!r}" for line in sorted(solution & stripped)]
    return findings


def _archive(path: Path, data: bytes) -> str | None:
    """The kind of compressed archive ``data`` is, by its first bytes; None if it is none."""
    for magic, kind in ARCHIVES.items():
        if data.startswith(magic):
            return kind
    if data.startswith(b"BZh") and data[4:10] == b"1AY&SY":
        return "bzip2"
    return "zip" if zipfile.is_zipfile(path) else None


def _markers(text: str, blobs: list[bytes]) -> list[str]:
    """``marker 'X'`` for each hidden marker in ``text``, or ``marker 'X' (UTF-16)`` for one only
    found in another encoding in one of ``blobs``."""
    found = []
    for marker in HIDDEN_MARKERS:
        if marker in text:
            found.append(f"marker {marker!r}")
            continue
        wide = [name for code, name in WIDE_ENCODINGS.items() if any(marker.encode(code) in b for b in blobs)]
        if wide:
            found.append(f"marker {marker!r} ({wide[0]})")
    return found


def _notebook_material(text: str) -> tuple[str, list[bytes]]:
    """What a student reads of a notebook besides its raw JSON: the text of its cells and of every
    string in its metadata and its cells' (one per line), and its cells' attachments, decoded."""
    notebook = nbformat.reads(text, as_version=4)
    strings, attachments = [], []

    def collect(value) -> None:
        if isinstance(value, str):
            strings.append(value)
        elif isinstance(value, dict):
            for item in value.values():
                collect(item)
        elif isinstance(value, list):
            for item in value:
                collect(item)

    collect(notebook.metadata)
    for cell in notebook.cells:
        strings.append(cell.source)
        collect(cell.metadata)
        for bundle in cell.get("attachments", {}).values():
            for encoded in bundle.values():
                try:
                    attachments.append(base64.b64decode("".join(encoded), validate=False))
                except (binascii.Error, TypeError):
                    attachments.append("".join(encoded).encode())
    decoded = [blob.decode(errors="replace") for blob in attachments if b"\0" not in blob]
    return "\n".join(strings + decoded), attachments
