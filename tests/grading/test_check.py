"""``tpdl check``: a pre-flight check of a hand-in (its attacks: ``test_instructor_tools.py``)."""

import io
import json
import os
import re
import shutil
from unittest import mock

import pytest

from tpdl.authoring import catalogue
from tpdl.core import paths
from tpdl.course import costs
from tpdl.grading import check
from tpdl.judge import sandbox

CATALOGUE = paths.course_dir() / "tests" / "catalogue"


def run(assignment, folder, zygote=None) -> tuple[int, str]:
    out = io.StringIO()
    return check.main(assignment, folder, out=out, zygote=zygote), out.getvalue()


def test_the_reference_is_ready_to_hand_in(released, zygote):
    code, text = run("tp4", paths.sample_submission("reference", "tp4"), zygote)
    assert code == 0 and "ready to hand in" in text
    assert "ok   the notebook as it is graded" in text  # run as the judge runs it: nothing fails
    assert "unet.keras" in text and "parameters" in text and "0.900 is needed" in text


def test_the_untouched_student_is_told_what_is_missing(released, zygote):
    code, text = run("tp1", paths.sample_submission("untouched", "tp1"), zygote)
    assert code == 1 and "missing: mnist_dense.keras, mlflow.db, mlruns" in text
    assert (
        "cell 4 (`preprocess_tests`) fails when the notebook is run as at grading: NotImplementedError"
        in text
    )


@pytest.mark.slow  # runs a whole notebook
def test_a_model_trained_on_ci_or_below_the_threshold_is_flagged(released, zygote, tmp_path):
    folder = tmp_path / "tp1"
    shutil.copytree(paths.sample_submission("reference", "tp1"), folder)
    record = {"budget": "ci", "epochs": 1, "seconds": 3.0, "metrics": {}}
    costs.record_path(folder / "mnist_dense.keras").write_text(json.dumps(record))
    code, text = run("tp1", folder, zygote)
    assert code == 1 and "trained on the ci budget" in text
    below = catalogue.load(CATALOGUE / "tp1" / "mnist_dense.keras--fail--below-the-course.py")
    weak = catalogue.build(
        below, paths.sample_submission("reference", "tp1"), tmp_path / "weak" / "tp1", "tp1.ipynb"
    )
    code, text = run("tp1", weak, zygote)
    assert code == 1 and "97.83% is needed: below" in text


def test_a_file_that_is_not_a_model_is_reported_not_loaded(released, zygote, tmp_path):
    folder = tmp_path / "tp3"
    shutil.copytree(paths.sample_submission("untouched", "tp3"), folder)
    (folder / "cifar10_cnn.keras").write_bytes(b"not a zip")
    code, text = run("tp3", folder, zygote)
    assert code == 1 and "cifar10_cnn.keras could not be loaded safely" in text


def test_the_release_publishes_what_check_needs_and_nothing_of_the_graders(released):
    for assignment in paths.assignments():
        published = json.loads((paths.release(assignment) / check.HANDIN).read_text())
        assert published == check.handin(assignment)
        assert not set(published["thresholds"]) & {"fresh_accuracy", "max_gap"}


def test_the_students_page_hand_in_list_is_the_manifests():
    lines = (paths.course_dir() / "docs" / "students.md").read_text().splitlines()
    page = "\n".join(line.strip() for line in lines)
    assert check.readme_table() in page, "docs/students.md's hand-in table differs from the manifests"


@pytest.mark.parametrize("folder", ["", "nowhere"])
def test_an_unknown_assignment_is_refused_with_a_message(tmp_path, folder):
    with pytest.raises(SystemExit, match="nothing is known"):
        check.main("tp99", tmp_path / folder)


def test_where_the_course_is_known_the_release_decides_what_is_expected(released, zygote, tmp_path):
    folder = tmp_path / "tp2"
    shutil.copytree(paths.sample_submission("untouched", "tp2"), folder)
    (folder / check.HANDIN).write_text(json.dumps(check.handin("tp2")))
    code, text = run("tp2", folder, zygote)
    assert "handin.json" not in text, "the release's own copy is no news"
    assert code == 1 and "missing: mlflow.db" in text
    (folder / check.HANDIN).write_text(json.dumps({**check.handin("tp2"), "deliverables": ["tp2.ipynb"]}))
    code, text = run("tp2", folder, zygote)
    assert "this folder's handin.json is not the release's: it is ignored" in text
    assert code == 1 and "missing: mlflow.db" in text


def test_without_a_course_the_folders_own_release_is_read_and_said(released, zygote, tmp_path, monkeypatch):
    folder = tmp_path / "tp2"
    shutil.copytree(paths.release("tp2"), folder)
    monkeypatch.setenv("TPDL_COURSE_DIR", str(tmp_path / "no-course"))
    code, text = run("tp2", folder, zygote)
    assert "no course on this machine: what is expected is read from this folder's handin.json" in text
    assert code == 1 and "missing: mlflow.db" in text
    (folder / check.HANDIN).write_text('{"assignment": "tp2", "deliverables": [1]}')
    with pytest.raises(SystemExit, match="is not a release's"):
        run("tp2", folder)


def test_models_are_loaded_outside_the_sandbox_only_in_the_callers_own_work(tmp_path, course):
    """Without bubblewrap: never as root, never in someone else's folder or a submission of the course."""

    def decide(folder, uid, owner):
        folder.mkdir(parents=True, exist_ok=True)
        os.chown(folder, owner, owner)
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            with mock.patch.object(os, "geteuid", return_value=uid):
                loader = check.Loader(None, "tp1.ipynb", fd, folder, None)
                loader._without_sandbox()
        finally:
            os.close(fd)
        return loader.in_process, loader.refusal or ""

    if os.geteuid() != 0:
        pytest.skip("changing a folder's owner needs root")
    assert decide(tmp_path / "mine", 1000, 1000) == (True, "")
    assert "as root" in decide(tmp_path / "any", 0, 0)[1]
    assert "this folder is not yours" in decide(tmp_path / "theirs", 1000, 1001)[1]
    submitted = course / "submitted" / "alice" / "tp1"
    assert "a submission of the course" in decide(submitted, 1000, 1000)[1]


def test_without_the_sandbox_as_root_no_model_is_loaded(released, tmp_path, monkeypatch):
    def unavailable(*args, **kwargs):
        raise sandbox.SandboxUnavailable("no bubblewrap here")

    monkeypatch.setattr(check.sandbox, "Zygote", unavailable)
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    code, text = run("tp4", paths.sample_submission("reference", "tp4"))
    assert code == 1 and "does not load a model outside it as root" in text and "parameters" not in text
    assert "the notebook is not run as at grading" in text and "never as root" in text


@pytest.mark.slow  # runs a whole notebook
def test_without_the_sandbox_the_callers_own_notebook_runs_apart_as_the_judge_runs_it(
    released, tmp_path, monkeypatch
):
    """Without bubblewrap, a student's own folder is run in a separate process, and still told of
    the function that needs a skipped cell."""

    def unavailable(*args, **kwargs):
        raise sandbox.SandboxUnavailable("no bubblewrap here")

    entry = catalogue.load(CATALOGUE / "tp1" / "log_training--fail--module-imported-by-the-training-cell.py")
    folder = catalogue.build(
        entry, paths.sample_submission("reference", "tp1"), tmp_path / "tp1", "tp1.ipynb"
    )
    student = 1000
    if os.geteuid() == 0:
        os.chown(folder, student, student)
    monkeypatch.setattr(check.sandbox, "Zygote", unavailable)
    monkeypatch.setattr(os, "geteuid", lambda: os.stat(folder).st_uid)
    code, text = run("tp1", folder)
    assert code == 1 and "TODO the notebook as it is graded" in text
    assert re.search(r"`log_training` uses `time`, which only cell \d+ \(`import time`\) imports", text), text
    assert "your models are loaded in this process" in text
