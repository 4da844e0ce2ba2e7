"""nbgrader's buttons and the exchange's clock, attacked where the kit meets nbgrader.

*The buttons*: formgrader's *Generate* and *Release* (nbgrader's API, as formgrader calls it) and
``nbgrader generate_assignment`` / ``release_assignment`` must never hand a student solution
material: the release is built the kit's way or not at all, and a release holding solution
material is refused. *The clock*: a student can keep writing into their own folder of the
exchange's inbound after the due date; whatever they change there makes the submission late.
*The totals*: the late penalty follows nbgrader's ``penalty_method`` or is refused, and every
score formgrader's pages read is the total ``nbgrader export`` gives; its grading view shows the
judge's checks under their cells.
"""

import base64
import csv
import datetime
import gzip
import html
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from tpdl.authoring import notebooks
from tpdl.core import paths

TP = "tp1"
MARKERS = (b"BEGIN SOLUTION", b"END SOLUTION", b"BEGIN HIDDEN TESTS", b"END HIDDEN TESTS")
BIN = Path(sys.executable).parent


def nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    """nbgrader's command line, run in ``course`` as an instructor runs it."""
    env = {**os.environ, "TPDL_COURSE_DIR": str(course), "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run(
        [str(BIN / "nbgrader"), *args], cwd=course, env=env, capture_output=True, text=True, timeout=300
    )


def formgrader_api(course: Path, **settings):
    """nbgrader's API as formgrader builds it for its buttons: the course's ``nbgrader_config.py``
    (with ``settings``, ``{"Class.trait": value}``, laid over it)."""
    from nbgrader.apps.api import NbGraderAPI
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    for name, value in settings.items():
        section, trait = name.split(".")
        config[section][trait] = value
    return NbGraderAPI(config=config)


def solution_lines(folder: Path) -> dict[str, set[str]]:
    """Per template of ``folder`` (not the notebook), the lines of its solution blocks."""
    found = {}
    for path in folder.iterdir():
        if path.is_file() and path.suffix != ".ipynb" and not path.name.endswith(".nb.py"):
            blocks = re.findall(
                r"BEGIN SOLUTION[^\n]*\n(.*?)\n[^\n]*END SOLUTION", path.read_text(), flags=re.S
            )
            found[path.name] = {
                line.strip() for block in blocks for line in block.splitlines() if line.strip()
            }
    return found


def solution_material(folder: Path, solutions: dict[str, set[str]]) -> list[str]:
    """What of ``solutions`` (and any hidden marker) the files of ``folder`` hold, read as bytes."""
    held = []
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            held += [f"{path.name}: {marker.decode()}" for marker in MARKERS if marker in data]
            lines = {line.strip() for line in data.decode(errors="replace").splitlines()}
            held += [f"{path.name}: {line}" for line in sorted(solutions.get(path.name, set()) & lines)]
    return held


@pytest.fixture
def kit_course(course):
    """A scratch course whose ``source/tp1`` and ``release/`` are its own (nothing real is written)."""
    real_source = Path(os.readlink(course / "source"))
    for name in ("source", "release"):
        (course / name).unlink()
    shutil.copytree(
        real_source / TP,
        course / "source" / TP,
        ignore=shutil.ignore_patterns("*.ipynb", *notebooks.RUN_OUTPUTS),
    )
    (course / "release").mkdir()
    notebooks.build_source_notebook(TP)  # as `tpdl release` or `make release` left it
    return course


def outbound(course: Path) -> Path:
    return course / "exchange" / "tpdl" / "outbound" / TP


# ------------------------------------------------------------------------------------------------
# The buttons


def test_generate_then_release_buttons_hand_out_no_solution(kit_course):
    """formgrader's Generate then Release: the release is the kit's, and no solution reaches it or
    the exchange, though nbgrader's own converter would copy four of app.py's solution blocks."""
    solutions = solution_lines(kit_course / "source" / TP)
    assert len(solutions["app.py"]) > 4 and solutions["Dockerfile"] and solutions["requirements.txt"]
    plain = formgrader_api(
        kit_course, **{"GenerateAssignment.exporter_class": "nbconvert.exporters.NotebookExporter"}
    )
    assert plain.generate_assignment(TP)["success"]
    leaked = solution_material(kit_course / "release" / TP, solutions)
    assert {
        "app.py: BEGIN SOLUTION",
        "Dockerfile: BEGIN SOLUTION",
        "requirements.txt: BEGIN SOLUTION",
    } <= set(leaked)
    assert (kit_course / "release" / TP / "app.py").read_text().count("BEGIN SOLUTION") == 4  # as filed
    assert not (kit_course / "release" / TP / "handin.json").exists()

    api = formgrader_api(kit_course)
    generated = api.generate_assignment(TP)
    assert generated["success"], generated
    release = kit_course / "release" / TP
    assert solution_material(release, solutions) == []
    assert (release / "handin.json").is_file() and (release / "nbgrader_config.py").is_file()
    assert (release / "app.py").read_text().count("raise NotImplementedError()") == 4
    released = api.release_assignment(TP)
    assert released["success"], released
    assert sorted(p.name for p in outbound(kit_course).iterdir()) == sorted(p.name for p in release.iterdir())
    assert solution_material(outbound(kit_course), solutions) == []


def test_generate_on_the_command_line_is_the_kits_release(kit_course):
    done = nbgrader(kit_course, "generate_assignment", TP, "--force")
    assert done.returncode == 0, done.stderr
    release = kit_course / "release" / TP
    assert (release / "handin.json").is_file()
    assert solution_material(release, solution_lines(kit_course / "source" / TP)) == []
    notebook = nbformat.read(release / f"{TP}.ipynb", as_version=4)
    assert any("raise NotImplementedError()" in cell.source for cell in notebook.cells)


def hand_edit(release: Path, source: Path) -> str:
    """The instructor pastes the source's app.py, solutions and all, over the release's."""
    shutil.copyfile(source / "app.py", release / "app.py")
    return (release / "app.py").read_text()


def test_release_refuses_a_hand_edited_release(kit_course):
    """A release folder edited by hand to hold a solution block: release_assignment (command line
    and formgrader's button) refuses it, and the exchange holds nothing of it."""
    api = formgrader_api(kit_course)
    assert api.generate_assignment(TP)["success"]
    edited = hand_edit(kit_course / "release" / TP, kit_course / "source" / TP)
    assert "BEGIN SOLUTION" in edited  # the attack is in place
    done = nbgrader(kit_course, "release_assignment", TP)
    assert done.returncode != 0 and "holds solution material" in done.stderr
    assert "release/tp1/app.py: marker 'BEGIN SOLUTION'" in done.stderr
    refused = api.release_assignment(TP)
    assert not refused["success"] and "holds solution material" in refused["log"]
    assert not outbound(kit_course).exists()
    assert api.generate_assignment(TP)["success"]  # rebuilt, the same release goes out
    assert api.release_assignment(TP)["success"] and (outbound(kit_course) / "app.py").is_file()


def test_release_refuses_a_link_to_the_solutions(kit_course):
    """A link in the release to the source: nbgrader's copy would hand out the file it points to."""
    api = formgrader_api(kit_course)
    assert api.generate_assignment(TP)["success"]
    link = kit_course / "release" / TP / "reference"
    link.symlink_to(kit_course / "source" / TP, target_is_directory=True)
    assert (link / "app.py").read_text().count("BEGIN SOLUTION") == 4
    refused = api.release_assignment(TP)
    assert not refused["success"] and "holds reference; a release holds regular files" in refused["log"]
    assert not outbound(kit_course).exists()


LATIN1_NOTES = "Notes du corrigé\n### BEGIN SOLUTION\nreturn model.fit(x, y, epochs=5)\n### END SOLUTION\n"


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("hints.json", b'{"answer": "### BEGIN SOLUTION model.fit(x, y) ### END SOLUTION"}'),
        ("notes.tex", LATIN1_NOTES.encode("latin-1")),  # not UTF-8: read as bytes
    ],
    ids=["json", "latin-1"],
)
def test_generate_refuses_solution_material_it_cannot_stub(kit_course, name, content):
    """A file of a type the kit does not stub, which nbgrader copies as it is: Generate fails and
    leaves no release for Release to hand out."""
    (kit_course / "source" / TP / name).write_bytes(content)
    generated = formgrader_api(kit_course).generate_assignment(TP)
    assert f"Copying {kit_course}/source/./{TP}/{name}" in generated["log"]  # nbgrader copied it
    assert not generated["success"]
    assert f"release/{TP}/{name}: marker 'BEGIN SOLUTION'" in generated["log"]
    assert "tpdl release tp1" in generated["log"]
    assert not (kit_course / "release" / TP).exists()
    done = nbgrader(kit_course, "release_assignment", TP)
    assert done.returncode != 0 and not outbound(kit_course).exists()


def test_generate_stubs_a_template_of_a_type_it_knows(kit_course):
    template = "[model]\n# BEGIN SOLUTION\nhidden_units = 512, 256\n# END SOLUTION\n"
    (kit_course / "source" / TP / "settings.cfg").write_text(template)
    generated = formgrader_api(kit_course).generate_assignment(TP)
    assert generated["success"], generated
    assert (kit_course / "release" / TP / "settings.cfg").read_text() == "[model]\n# YOUR CODE HERE\n"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32"])
def test_generate_refuses_a_template_that_is_not_utf8(kit_course, encoding):
    """app.py saved as UTF-16 or UTF-32 (a Windows editor): its solution regions are not found by a
    UTF-8 reading, so nothing would stub them; Generate refuses it, naming the file and its encoding."""
    app = kit_course / "source" / TP / "app.py"
    app.write_bytes(app.read_text().encode(encoding))
    assert app.read_bytes().decode(encoding).count("BEGIN SOLUTION") == 4  # the solutions, in that encoding
    generated = formgrader_api(kit_course).generate_assignment(TP)
    assert f"Copying {kit_course}/source/./{TP}/app.py" in generated["log"]  # nbgrader copied it as it is
    assert not generated["success"]
    assert f"release/{TP}/app.py is not UTF-8 text (it looks like utf_{encoding[4:6]}" in generated["log"]
    assert f"Save source/{TP}/app.py as UTF-8" in generated["log"]
    assert not (kit_course / "release" / TP).exists()


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
def test_release_finds_markers_in_any_unicode_encoding(kit_course, encoding):
    """A release edited by hand to hold app.py in another encoding than UTF-8: Release refuses it."""
    api = formgrader_api(kit_course)
    assert api.generate_assignment(TP)["success"]
    released_app = kit_course / "release" / TP / "app.py"
    released_app.write_bytes((kit_course / "source" / TP / "app.py").read_text().encode(encoding))
    assert b"BEGIN SOLUTION" not in released_app.read_bytes()  # invisible to a UTF-8 reading
    refused = api.release_assignment(TP)
    assert not refused["success"]
    assert f"release/{TP}/app.py: marker 'BEGIN SOLUTION' ({encoding[:6].upper()})" in refused["log"]
    assert not outbound(kit_course).exists()


# What running tp1.ipynb writes in its folder.
RUN_LEFT = ("mnist_dense.keras", "learning_curves.png", "mlflow.db", "mlruns")


def test_what_a_run_of_the_notebook_leaves_in_source_is_never_released(kit_course):
    """The instructor ran the notebook in source/tp1: its trained model, figure and tracking store
    are there. Generate leaves them out (nbgrader copies them); Release refuses them if put back."""
    reference = paths.sample_submission("reference", TP)
    for name in RUN_LEFT:
        copy = shutil.copytree if (reference / name).is_dir() else shutil.copyfile
        copy(reference / name, kit_course / "source" / TP / name)
    api = formgrader_api(kit_course)
    generated = api.generate_assignment(TP)
    assert generated["success"], generated
    release = kit_course / "release" / TP
    for name in ("mnist_dense.keras", "learning_curves.png", "mlflow.db"):
        assert f"Copying {kit_course}/source/./{TP}/{name}" in generated["log"]  # nbgrader put it there
        assert f"Left out of the release: release/{TP}/{name}" in generated["log"]
    assert not {p.name for p in release.rglob("*")} & {*RUN_LEFT, "model.keras"}  # mlruns holds one
    (release / "weights").mkdir()
    shutil.copyfile(reference / "mnist_dense.keras", release / "weights" / "best.h5")  # put back by hand
    refused = api.release_assignment(TP)
    assert not refused["success"]
    assert f"release/{TP}/weights/best.h5: what a run of the notebook writes" in refused["log"]
    assert not outbound(kit_course).exists()
    (release / "weights" / "best.h5").unlink()
    assert api.release_assignment(TP)["success"]
    assert not {p.name for p in outbound(kit_course).rglob("*")} & {*RUN_LEFT, "best.h5"}


SECRET_LINE = "hidden_units = (512, 256)  # the course's answer"


def extra_notebook(folder: Path, where: str) -> None:
    """A second notebook of the assignment whose solution also sits in a cell's metadata or in an
    attachment, which nbgrader's ClearSolutions leaves as they are."""
    solution = f"### BEGIN SOLUTION\n{SECRET_LINE}\n### END SOLUTION"
    metadata = {
        "nbgrader": {
            "schema_version": 3,
            "grade_id": "extra",
            "solution": True,
            "grade": False,
            "locked": False,
            "task": False,
        }
    }
    cell = nbformat.v4.new_code_cell(solution, metadata=metadata)
    notes = nbformat.v4.new_markdown_cell("Notes: ![notes](attachment:notes.txt)")
    if where == "metadata":
        cell.metadata["notes"] = {"answer": SECRET_LINE}
    else:
        notes.attachments = {"notes.txt": {"text/plain": base64.b64encode(solution.encode()).decode()}}
    notebook = nbformat.v4.new_notebook(cells=[notes, cell])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, folder / "extra.ipynb")


@pytest.mark.parametrize(
    ("where", "finding"),
    [
        ("metadata", f"release/{TP}/extra.ipynb: solution line {SECRET_LINE!r}"),
        ("attachment", f"release/{TP}/extra.ipynb: marker 'BEGIN SOLUTION'"),
        ("gzip", f"release/{TP}/notes.txt.gz: a compressed archive (gzip): the leak finder cannot read it"),
    ],
    ids=["metadata", "attachment", "gzip"],
)
def test_generate_refuses_solution_material_hidden_from_a_plain_reading(kit_course, where, finding):
    """An extra notebook's solution in its metadata or an attachment (base64), or notes compressed:
    nbgrader releases them as they are; the leak finder reads them (or refuses the archive)."""
    source = kit_course / "source" / TP
    if where == "gzip":
        (source / "notes.txt.gz").write_bytes(gzip.compress(f"### BEGIN SOLUTION\n{SECRET_LINE}\n".encode()))
    else:
        extra_notebook(source, where)
        plain = formgrader_api(
            kit_course, **{"GenerateAssignment.exporter_class": "nbconvert.exporters.NotebookExporter"}
        )
        assert plain.generate_assignment(TP)["success"]
        released = (kit_course / "release" / TP / "extra.ipynb").read_text()
        stubbed = nbformat.reads(released, as_version=4).cells[1].source
        assert SECRET_LINE not in stubbed and "raise NotImplementedError()" in stubbed  # nbgrader's stub
        if where == "attachment":  # nbformat keeps an attachment's base64 as a list of lines
            released = base64.b64decode(
                "".join(json.loads(released)["cells"][0]["attachments"]["notes.txt"]["text/plain"])
            ).decode()
        assert SECRET_LINE in released
    generated = formgrader_api(kit_course).generate_assignment(TP)
    if where == "gzip":
        assert f"Copying {kit_course}/source/./{TP}/notes.txt.gz" in generated["log"]
    assert not generated["success"]
    assert finding in generated["log"], generated["log"]
    assert not (kit_course / "release" / TP).exists()


def plain_quiz(source: Path) -> None:
    """An nbgrader assignment of the instructor's own, not a TP of the kit (no text source)."""
    source.mkdir(parents=True)

    def cell(code: str, **nbgrader) -> nbformat.NotebookNode:
        metadata = {"schema_version": 3, "locked": False, "solution": False, "grade": False, "task": False}
        return nbformat.v4.new_code_cell(code, metadata={"nbgrader": {**metadata, **nbgrader}})

    quiz = nbformat.v4.new_notebook(
        cells=[
            cell(
                "def square(x):\n    ### BEGIN SOLUTION\n    return x * x\n    ### END SOLUTION",
                grade_id="square",
                solution=True,
            ),
            cell("assert square(3) == 9", grade_id="square_test", grade=True, locked=True, points=1),
        ]
    )
    quiz.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(quiz, source / "quiz1.ipynb")
    (source / "helper.py").write_text(
        "def cube(x):\n    ### BEGIN SOLUTION\n    return x * x * x\n    ### END SOLUTION\n"
    )
    (source / "data.csv").write_text("x,y\n1,2\n")


def test_a_plain_nbgrader_assignment_generates_and_releases_as_nbgrader_does(kit_course):
    """Its notebook is nbgrader's; its templates lose their solutions too; nothing of the kit's is added."""
    plain_quiz(kit_course / "source" / "quiz1")
    api = formgrader_api(kit_course)
    generated = api.generate_assignment("quiz1")
    assert generated["success"], generated
    release = kit_course / "release" / "quiz1"
    assert sorted(p.name for p in release.iterdir()) == ["data.csv", "helper.py", "quiz1.ipynb"]
    assert (release / "data.csv").read_text() == "x,y\n1,2\n"
    assert "return x * x * x" not in (release / "helper.py").read_text()
    quiz = nbformat.read(release / "quiz1.ipynb", as_version=4)
    assert (
        "raise NotImplementedError()" in quiz.cells[0].source and "return x * x" not in quiz.cells[0].source
    )
    assert api.release_assignment("quiz1")["success"]


# ------------------------------------------------------------------------------------------------
# The clock

HONEST = "ontime"
SETTLE_S = 0.2  # beyond the kernel's coarse clock, which dates inode changes


def late_edit(folder: Path) -> Path:
    """The notebook rewritten in place (same inode) after the due date."""
    path = folder / f"{TP}.ipynb"
    with open(path, "r+") as handle:
        text = handle.read()
        handle.seek(0)
        handle.write(text.rstrip() + "\n\n")
    return path


def late_subfolder(folder: Path) -> Path:
    """A file deep in the tracking store rewritten in place: the top folder does not change."""
    path = next(p for p in sorted((folder / "mlruns").rglob("*")) if p.is_file())
    data = path.read_bytes()
    with open(path, "r+b") as handle:
        handle.write(data)
    return path


def late_new_file(folder: Path) -> Path:
    """A new file added inside a subfolder after the due date."""
    path = next(p for p in sorted((folder / "mlruns").rglob("*")) if p.is_dir()) / "notes.txt"
    path.write_text("written after the due date\n")
    return path


def old_mtime(folder: Path) -> Path:
    """app.py rewritten after the due date, its modification time then set back to 2020."""
    path = folder / "app.py"
    path.write_text(path.read_text() + "# improved after the due date\n")
    os.utime(path, (1577836800, 1577836800))
    return path


def stamp_folder(folder: Path) -> Path:
    """After the due date, ``timestamp.txt`` becomes a folder: nbgrader's own file is never a date."""
    path = folder / "timestamp.txt"
    path.unlink()
    path.mkdir()
    (path / "date").write_text("2026-12-01 10:00:00.000000 UTC")
    return path


ATTACKS = {a.__name__: a for a in (late_edit, late_subfolder, late_new_file, old_mtime, stamp_folder)}
IN_PLACE = ("late_edit", "late_subfolder", "late_new_file", "old_mtime")  # the top folder is not changed


@pytest.fixture(scope="module")
def late_class(tmp_path_factory, new_course):
    """Five submissions of TP1's reference in the exchange's inbound before the due date; four are
    changed after it, each its own way; then nbgrader collects them all."""
    from nbgrader.api import Gradebook

    course = new_course(tmp_path_factory.mktemp("clock") / "course")
    inbound = course / "exchange" / "tpdl" / "inbound"
    folders = {}
    for student in [HONEST, *ATTACKS]:
        folders[student] = inbound / f"{student}+{TP}+2026-12-01 10:00:00.000000 UTC+{student[:6]}"
        shutil.copytree(paths.sample_submission("reference", TP), folders[student])
        # as nbgrader submit leaves it
        (folders[student] / "timestamp.txt").write_text("2026-12-01 10:00:00.000000 UTC")
    time.sleep(SETTLE_S)
    due = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        gradebook.update_or_create_assignment(TP, duedate=due)
    time.sleep(SETTLE_S)
    changed = {student: attack(folders[student]) for student, attack in ATTACKS.items()}
    collected = nbgrader(course, "collect", TP)
    assert collected.returncode == 0, collected.stderr
    return {"course": course, "due": due, "folders": folders, "changed": changed}


def collected_at(late_class, student: str) -> datetime.datetime:
    from nbgrader.utils import parse_utc

    return parse_utc((late_class["course"] / "submitted" / student / TP / "timestamp.txt").read_text())


@pytest.mark.parametrize("attack", list(ATTACKS))
def test_a_change_after_the_due_date_makes_the_submission_late(late_class, attack):
    due, changed = late_class["due"], late_class["changed"][attack]
    top = late_class["folders"][attack]

    def as_utc(seconds):
        return datetime.datetime.fromtimestamp(seconds, datetime.UTC).replace(tzinfo=None)

    assert as_utc(changed.stat().st_ctime) > due  # the attack's change
    if attack in IN_PLACE:
        assert as_utc(top.stat().st_ctime) <= due
    if attack == "old_mtime":
        assert as_utc(changed.stat().st_mtime) < due  # its file claims to be old
    copy = late_class["course"] / "submitted" / attack / TP / changed.relative_to(top)
    if changed.is_file():
        assert copy.read_bytes() == changed.read_bytes()  # what was changed late is what was collected
    assert collected_at(late_class, attack) > due


def test_an_untouched_submission_is_on_time(late_class):
    assert collected_at(late_class, HONEST) <= late_class["due"]


@pytest.mark.slow
@pytest.mark.usefixtures("in_shared_pool")
def test_grading_charges_each_late_change_the_penalty(late_class):
    """``tpdl grade`` (TP1's quick checks): the same work, full marks on time, one point off late."""
    course = late_class["course"]
    env = {**os.environ, "TPDL_COURSE_DIR": str(course)}
    graded = subprocess.run(
        [str(BIN / "tpdl"), "grade", TP, "--no-progress"],
        cwd=course,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert graded.returncode == 0, graded.stdout + graded.stderr
    with open(course / "reports" / TP / "grades.csv", newline="") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    assert set(rows) == {HONEST, *ATTACKS}
    judged = json.loads((course / "autograded" / HONEST / TP / "results.json").read_text())
    assert judged["score"] == judged["max_score"] > 0  # every check the judge ran, passed
    honest = rows[HONEST]
    assert float(honest["late_penalty"]) == 0 and float(honest["score"]) == judged["score"]
    for attack in ATTACKS:
        assert float(rows[attack]["late_penalty"]) == 1.0, (attack, rows[attack])
        assert float(rows[attack]["score"]) == float(honest["score"]) - 1.0, (attack, rows[attack])


# ------------------------------------------------------------------------------------------------
# The exchange's copy: what a student changes while nbgrader collect copies their folder

FORGED = "2020-01-01 00:00:00.000000 UTC"


def handed_in(course: Path, student: str, folders: int = 0) -> Path:
    """``student``'s submission of TP1's reference in the inbound, with its own, early, date and
    ``folders`` extra folders (``d1``, ``d2``...) holding a file each."""
    now = datetime.datetime.now(datetime.UTC)  # as nbgrader submit names it
    folder = course / "exchange" / "tpdl" / "inbound" / f"{student}+{TP}+{now:%Y-%m-%d %H:%M:%S.%f} UTC+x"
    shutil.copytree(paths.sample_submission("reference", TP), folder)
    (folder / "timestamp.txt").write_text(FORGED)
    for number in range(1, folders + 1):
        (folder / f"d{number}").mkdir()
        (folder / f"d{number}" / "notes.txt").write_text("my notes\n")
    return folder


def utc(seconds: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC).replace(tzinfo=None)


def stamp(course: Path, student: str) -> datetime.datetime:
    from nbgrader.utils import parse_utc

    return parse_utc((course / "submitted" / student / TP / "timestamp.txt").read_text())


def held(folder: Path, text: str) -> list[str]:
    """The files under ``folder`` that hold ``text``."""
    return [str(p) for p in folder.rglob("*") if p.is_file() and text.encode() in p.read_bytes()]


def test_collect_follows_no_folder_swapped_for_a_link_while_it_copies(course, tmp_path, monkeypatch):
    """Once collect has listed the second of the folders ``d1``-``d3`` as a folder, and copied the
    first, the student swaps it for a link to a folder only the instructor reads. The copy stops,
    nothing of it is left in submitted/, and the next collect leaves the link out and dates the
    submission by the swap."""
    from tpdl.judge import intake

    secret = tmp_path / "instructor_only"
    secret.mkdir(mode=0o700)
    (secret / "secret.txt").write_text("TOP-SECRET\n")
    submission = handed_in(course, "trudy", folders=3)
    opened, swapped, open_folder = [], [], intake.open_folder

    def swap_then_open(parent_fd, name):
        if re.fullmatch(r"d\d", name):
            opened.append(name)
        if len(opened) == 2 and not swapped:  # listed as a folder, not yet opened
            partial = next((course / "submitted" / "trudy").glob(f".{TP}.collecting-*"))
            assert (partial / opened[0] / "notes.txt").is_file()  # the copy is under way
            (submission / name).rename(submission / f".{name}")
            (submission / name).symlink_to(secret, target_is_directory=True)
            swapped.append(name)
        return open_folder(parent_fd, name)

    monkeypatch.setattr(intake, "open_folder", swap_then_open)
    api = formgrader_api(course)
    refused = api.collect(TP)
    assert len(swapped) == 1, "the student's swap ran"
    name = swapped[0]
    assert (submission / name / "secret.txt").read_text() == "TOP-SECRET\n"  # the link leads there
    assert "Not collecting trudy+tp1+" in refused["log"]
    assert f"it could not be read ({name}: Not a directory)" in refused["log"]
    assert not (course / "submitted" / "trudy").exists(), "a partial copy was left in submitted/"

    monkeypatch.setattr(intake, "open_folder", open_folder)
    collected = api.collect(TP)
    assert collected["success"] and f"Leaving out {name} of trudy+tp1+" in collected["log"]
    copy = course / "submitted" / "trudy" / TP
    assert {p.name for p in copy.glob("d*")} == {"d1", "d2", "d3"} - {name}
    assert held(course / "submitted", "TOP-SECRET") == []
    assert stamp(course, "trudy") >= utc(submission.lstat().st_ctime)  # the swap's time, not FORGED


def test_collect_dates_a_submission_whose_files_vanish_while_it_copies(course, monkeypatch):
    """After the due date, the student empties ``z/`` as soon as collect opens its first file (what
    stopped nbgrader's copy part-way, leaving the student's own early timestamp.txt): the rest is
    collected, dated by that change, so late."""
    from nbgrader.api import Gradebook

    from tpdl.judge import intake

    submission = handed_in(course, "mallory")
    (submission / "z").mkdir()
    for number in range(20):
        (submission / "z" / f"f{number}").write_text(f"{number}\n")
    time.sleep(SETTLE_S)
    due = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        gradebook.update_or_create_assignment(TP, duedate=due)
    time.sleep(SETTLE_S)
    emptied, copy_file = [], intake._copy_file

    def empty_then_copy(folder_fd, name, target, rules):
        if target.parent.name == "z" and not emptied:
            emptied.extend(sorted(p.name for p in (submission / "z").iterdir() if p.name != name))
            for other in emptied:
                (submission / "z" / other).unlink()
        return copy_file(folder_fd, name, target, rules)

    monkeypatch.setattr(intake, "_copy_file", empty_then_copy)
    collected = formgrader_api(course).collect(TP)
    assert len(emptied) == 19 and not set(emptied) & {p.name for p in (submission / "z").iterdir()}
    assert collected["success"] and "it changed or vanished while it was read" in collected["log"]
    copy = course / "submitted" / "mallory" / TP
    assert len(list((copy / "z").iterdir())) == 1 and (copy / f"{TP}.ipynb").is_file()
    assert stamp(course, "mallory") >= utc((submission / "z").stat().st_ctime) > due  # late, not FORGED


def test_a_copy_over_max_dir_size_stops_part_way_and_leaves_nothing(course, monkeypatch):
    """nbgrader's bound on a submission's bytes holds while the copy runs: the copy that crosses it
    stops part-way, nothing is left in submitted/, and collect takes it once the bound allows it."""
    from tpdl.judge import intake

    handed_in(course, "oscar")
    copied, copy_file = [], intake._copy_file

    def counted(folder_fd, name, target, rules):
        copied.append(name)
        return copy_file(folder_fd, name, target, rules)

    monkeypatch.setattr(intake, "_copy_file", counted)
    refused = formgrader_api(course, **{"CourseDirectory.max_dir_size": 1000}).collect(TP)  # 1 MB
    assert copied, "the copy had begun"
    assert "Not collecting oscar+tp1+" in refused["log"] and "more than 1,000,000 bytes" in refused["log"]
    assert not (course / "submitted" / "oscar").exists()
    collected = formgrader_api(course).collect(TP, update=False)
    assert collected["success"] and "Submission already exists" not in collected["log"]
    assert (course / "submitted" / "oscar" / TP / "mnist_dense.keras").is_file()


def test_update_replaces_an_older_copy_by_the_newer_submission_only(course):
    """nbgrader's rules for a copy already collected: kept without ``--update``, replaced by a
    newer submission with it, and nothing left beside it."""
    handed_in(course, "alice")
    api = formgrader_api(course)
    assert api.collect(TP, update=False)["success"]
    dated = stamp(course, "alice")
    time.sleep(SETTLE_S)
    newer = handed_in(course, "alice")
    (newer / "app.py").write_text("# the second submission\n")
    kept = api.collect(TP, update=False)
    assert "Submission already exists, use --update to update" in kept["log"]
    assert stamp(course, "alice") == dated
    updated = api.collect(TP, update=True)
    assert updated["success"] and "Updating submission: alice tp1" in updated["log"]
    assert (course / "submitted" / "alice" / TP / "app.py").read_text() == "# the second submission\n"
    assert stamp(course, "alice") > dated
    assert sorted(p.name for p in (course / "submitted" / "alice").iterdir()) == [TP]


def test_groupshared_collect_leaves_every_copy_to_the_group(course):
    """With ``CourseDirectory.groupshared``, is every folder collected the group's (set-gid,
    rwx) and every file, ``timestamp.txt`` included, the group's to read and write, as nbgrader's
    copy leaves them?"""
    handed_in(course, "alice", folders=1)
    collected = formgrader_api(course, **{"CourseDirectory.groupshared": True}).collect(TP)
    assert collected["success"], collected["log"]
    copy = course / "submitted" / "alice" / TP
    modes = {str(p.relative_to(copy)): p.stat().st_mode for p in [copy, *copy.rglob("*")]}
    assert "timestamp.txt" in modes and "d1/notes.txt" in modes
    for name, mode in modes.items():
        wanted = 0o2770 if name == "." or (copy / name).is_dir() else 0o660
        assert mode & wanted == wanted, (name, oct(mode))


# ------------------------------------------------------------------------------------------------
# The late penalty, and one total on formgrader's pages

LATE_BY = datetime.timedelta(minutes=90)  # two started hours


def grade_by_hand(course: Path, due: datetime.datetime, handed_in_at: dict[str, datetime.datetime]) -> float:
    """Full marks for each student's autograded cells of TP1, recorded with their submission time as
    ``tpdl grade`` records the judge's results (the submission's folders in place, as after
    ``collect`` and grading); the points the judge gives."""
    from nbgrader.api import Gradebook

    from tpdl.classroom import gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as book:
        book.update_or_create_assignment(TP, duedate=due)
    release = nbformat.read(course / "release" / TP / f"{TP}.ipynb", as_version=4)
    checks = [
        {
            "name": f"check_{meta['grade_id']}",
            "cell": meta["grade_id"],
            "points": float(meta["points"]),
            "max_points": float(meta["points"]),
            "passed": True,
            "counted": True,
            "message": "",
        }
        for meta in (c.metadata.get("nbgrader", {}) for c in release.cells)
        if meta.get("grade") and not meta.get("solution") and meta.get("points")
    ]
    results = {}
    for student, moment in handed_in_at.items():
        stamp = f"{moment:%Y-%m-%d %H:%M:%S.%f} UTC"
        for folder in ("submitted", "autograded"):
            (course / folder / student / TP).mkdir(parents=True)
            (course / folder / student / TP / "timestamp.txt").write_text(stamp)
            nbformat.write(release, course / folder / student / TP / f"{TP}.ipynb")
        results[student] = {
            "student": student,
            "assignment": TP,
            "checks": checks,
            "timestamp": moment.isoformat(),
            "score": sum(c["points"] for c in checks),
        }
    notes, _totals = gradebook.record(TP, results)
    assert not notes, notes
    return sum(c["points"] for c in checks)


@pytest.mark.parametrize("method", [None, "per_hour", "zero", "none"])
def test_the_late_penalty_follows_nbgrader_penalty_method(course, method):
    """Does the kit's plugin honour nbgrader's ``LateSubmissionPlugin.penalty_method`` (its own
    ``'per_hour'`` by default: a point per started hour), for the late student only?"""
    from tpdl.classroom import gradebook

    if method is not None:
        with open(course / "nbgrader_config.py", "a") as config:
            config.write(f"\nc.LateSubmissionPlugin.penalty_method = {method!r}\n")
    due = datetime.datetime(2026, 12, 1, 10, 0)
    earned = grade_by_hand(course, due, {"olivia": due, "lena": due + LATE_BY})
    expected = {None: 2.0, "per_hour": 2.0, "zero": earned, "none": 0.0}[method]
    on_time, late = gradebook.current_totals(TP, "olivia"), gradebook.current_totals(TP, "lena")
    assert (on_time.late_penalty, on_time.score) == (0.0, earned)
    assert (late.late_penalty, late.score) == (expected, earned - expected)


@pytest.mark.parametrize(
    "setting, refusal",
    [
        ("c.LateSubmissionPlugin.penalty_method = 'half'", "expected any of ['per_hour', 'none', 'zero']"),
        (
            "c.AssignLatePenalties.penalty_method = 'zero'",
            "nbgrader has no AssignLatePenalties.penalty_method",
        ),
    ],
)
def test_a_late_penalty_the_kit_does_not_honour_is_refused_before_grading(course, setting, refusal):
    """Is a late-penalty setting that the kit's plugin does not honour refused by ``tpdl grade``,
    with what to change, rather than ignored?"""
    from traitlets import TraitError

    from tpdl.classroom import gradebook

    with open(course / "nbgrader_config.py", "a") as config:
        config.write(f"\n{setting}\n")
    with pytest.raises(TraitError, match=re.escape(refusal)):
        gradebook.late_penalties()
    (course / "submitted").mkdir()
    env = {**os.environ, "TPDL_COURSE_DIR": str(course)}
    graded = subprocess.run(
        [str(BIN / "tpdl"), "grade", TP, "--no-progress"],
        cwd=course,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert graded.returncode == 2, graded.stdout + graded.stderr
    assert graded.stderr.startswith("tpdl grade: nbgrader_config.py: ") and refusal in graded.stderr, (
        graded.stderr
    )


def test_formgrader_api_gives_the_total_of_nbgrader_export(course):
    """Does every score formgrader's pages read (submissions, students, a student's assignments and
    notebooks, a notebook's submissions, the averages) match ``nbgrader export``, late penalty off?"""
    from traitlets.config.loader import PyFileConfigLoader

    from tpdl.classroom.formgrader import KitGraderAPI

    due = datetime.datetime(2026, 12, 1, 10, 0)
    earned = grade_by_hand(course, due, {"olivia": due, "lena": due + LATE_BY})
    exported = nbgrader(course, "export", "--to", "export.csv")
    assert exported.returncode == 0, exported.stderr
    with open(course / "export.csv", newline="") as handle:
        totals = {
            row["student_id"]: float(row["score"])
            for row in csv.DictReader(handle)
            if row["assignment"] == TP
        }
    assert totals == {"olivia": earned, "lena": earned - 2.0}
    api = KitGraderAPI(config=PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config())
    assert {s["student"]: s["score"] for s in api.get_submissions(TP)} == totals
    assert {s["id"]: s["score"] for s in api.get_students()} == totals
    for student, total in totals.items():
        assert api.get_student(student)["score"] == total
        assert [s["score"] for s in api.get_student_submissions(student) if s["name"] == TP] == [total]
        assert [n["score"] for n in api.get_student_notebook_submissions(student, TP)] == [total]
    assert sorted(n["score"] for n in api.get_notebook_submissions(TP, TP)) == sorted(totals.values())
    average = sum(totals.values()) / 2
    assert api.get_assignment(TP)["average_score"] == average
    assert [n["average_score"] for n in api.get_notebooks(TP)] == [average]


def test_the_grading_view_shows_each_check_under_its_cell_escaped(course, tmp_path):
    """Does formgrader's view of a graded notebook show, under each test cell, that cell's checks
    with their points and messages, as text (a message quoting the student's markup or TeX stays
    text: escaped, in ``<pre>``, which MathJax leaves alone)?"""
    from instructor_pages import formgrader_view, outside

    from tpdl.classroom import report

    release = course / "release" / TP / f"{TP}.ipynb"
    cells = [
        c.metadata["nbgrader"]["grade_id"]
        for c in nbformat.read(release, as_version=4).cells
        if c.cell_type == "code"
        and c.metadata.get("nbgrader", {}).get("grade")
        and not c.metadata["nbgrader"].get("solution")
    ]
    hostile = "got <img src=x onerror=alert(1)> and $\\href{https://example.org}{x}$"
    checks = [
        {
            "name": "shapes",
            "cell": cells[0],
            "points": 1.0,
            "max_points": 1.0,
            "passed": True,
            "counted": True,
            "message": "",
        },
        {
            "name": "values",
            "cell": cells[0],
            "points": 0.0,
            "max_points": 2.0,
            "passed": False,
            "counted": True,
            "message": hostile,
        },
        {
            "name": "later",
            "cell": cells[1],
            "points": 0.0,
            "max_points": 3.0,
            "passed": False,
            "counted": False,
            "message": "not measured here",
        },
    ]
    notebook = report.safe_notebook(release, release)
    report.show_checks(notebook, {"assignment": TP, "checks": checks})
    graded = tmp_path / f"{TP}.ipynb"
    nbformat.write(notebook, graded)
    view = formgrader_view(course, graded)
    outputs = re.findall(r'class="[^"]*output_stream[^"]*">\s*<pre>(.*?)</pre>', view, flags=re.S)
    first = next(o for o in outputs if "values" in o)
    assert "shapes" in first and "1 / 1" in first and "0 / 2" in first
    assert html.escape(hostile, quote=False) in first or html.escape(hostile) in first, first
    assert "<img" not in view.split("<body", 1)[1].replace('<img src="data:', "")
    assert not outside(view, formgrader_view(course, release))
    second = next(o for o in outputs if "later" in o)
    assert "not measured here" in second and "values" not in second
    untested = [c for c in notebook.cells if c.cell_type == "code" and c.outputs]
    assert len(untested) == 2  # the two cells the checks count towards, no other


@pytest.mark.slow
@pytest.mark.usefixtures("in_shared_pool")
def test_a_resubmission_replaces_the_collected_copy_with_update(course, tmp_path):
    """A student submits with ``nbgrader submit``, the instructor collects, the student submits
    again with a file changed and one added: ``collect`` keeps the first copy and its date,
    ``collect --update`` replaces it by the second, files and date."""
    exchange = course / "exchange"
    exchange.mkdir(mode=0o777)
    student = ["--student=alice", "--CourseDirectory.course_id=tpdl", f"--Exchange.root={exchange}"]
    home = tmp_path / "alice"
    home.mkdir()
    for command, where in (
        (["release_assignment", TP, "--force"], course),
        (["fetch_assignment", TP, *student], home),
    ):
        assert nbgrader(where, *command).returncode == 0
    (home / TP / "app.py").write_text("# first\n")
    assert nbgrader(home, "submit", TP, *student).returncode == 0
    assert nbgrader(course, "collect", TP).returncode == 0
    first = stamp(course, "alice")
    time.sleep(SETTLE_S)
    (home / TP / "app.py").write_text("# second\n")
    (home / TP / "notes.md").write_text("added\n")
    assert nbgrader(home, "submit", TP, *student).returncode == 0
    kept = nbgrader(course, "collect", TP)
    assert "Submission already exists, use --update to update: alice" in kept.stderr
    copy = course / "submitted" / "alice" / TP
    assert (copy / "app.py").read_text() == "# first\n" and stamp(course, "alice") == first
    updated = nbgrader(course, "collect", TP, "--update")
    assert "Updating submission: alice" in updated.stderr
    assert (copy / "app.py").read_text() == "# second\n" and (copy / "notes.md").is_file()
    assert stamp(course, "alice") > first
