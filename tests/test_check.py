"""``tpdl check``: a student's pre-flight check of a hand-in."""

import io
import json
import shutil

import pytest

from tpdl import catalogue, check, costs, paths

CATALOGUE = paths.course_dir() / "tests" / "catalogue"


def run(assignment, folder) -> tuple[int, str]:
    out = io.StringIO()
    return check.main(assignment, folder, out=out), out.getvalue()


def test_the_reference_is_ready_to_hand_in(released):
    code, text = run("tp4", paths.sample_submission("reference", "tp4"))
    assert code == 0 and "ready to hand in" in text
    assert "unet.keras" in text and "parameters" in text and "0.900 is needed" in text


def test_the_untouched_student_is_told_what_is_missing(released):
    code, text = run("tp1", paths.sample_submission("untouched", "tp1"))
    assert code == 1 and "missing: mnist_dense.keras, mlflow.db, mlruns" in text


def test_a_model_trained_on_ci_or_below_the_threshold_is_flagged(released, tmp_path):
    folder = tmp_path / "tp1"
    shutil.copytree(paths.sample_submission("reference", "tp1"), folder)
    record = {"budget": "ci", "epochs": 1, "seconds": 3.0, "metrics": {}}
    costs.record_path(folder / "mnist_dense.keras").write_text(json.dumps(record))
    code, text = run("tp1", folder)
    assert code == 1 and "trained on the ci budget" in text
    below = catalogue.load(CATALOGUE / "tp1" / "mnist_dense.keras--fail--below-the-course.py")
    weak = catalogue.build(
        below, paths.sample_submission("reference", "tp1"), tmp_path / "weak" / "tp1", "tp1.ipynb"
    )
    code, text = run("tp1", weak)
    assert code == 1 and "97.83% is needed: below" in text


def test_a_file_that_is_not_a_model_is_reported_not_loaded(released, tmp_path):
    folder = tmp_path / "tp3"
    shutil.copytree(paths.sample_submission("untouched", "tp3"), folder)
    (folder / "cifar10_cnn.keras").write_bytes(b"not a zip")
    code, text = run("tp3", folder)
    assert code == 1 and "does not load safely" in text


def test_the_release_publishes_what_check_needs_and_nothing_of_the_graders(released):
    for assignment in paths.assignments():
        published = json.loads((paths.release(assignment) / check.HANDIN).read_text())
        assert published == check.handin(assignment)
        assert not set(published["thresholds"]) & {"fresh_accuracy", "max_gap"}


def test_the_readme_hand_in_list_is_the_manifests():
    readme = "\n".join(line.strip() for line in (paths.course_dir() / "README.md").read_text().splitlines())
    assert check.readme_table() in readme, "the README's hand-in table differs from the manifests"


@pytest.mark.parametrize("folder", ["", "nowhere"])
def test_an_unknown_assignment_is_refused_with_a_message(tmp_path, folder):
    with pytest.raises(SystemExit, match="nothing is known"):
        check.main("tp99", tmp_path / folder)
