"""What makes grading faster must not change what it measures: the profile, the files the judge
hands a student's call, the reference runs made once."""

import os
import sqlite3

import numpy as np
import pytest

from tpdl.grading import kit_runs, student
from tpdl.judge import profile, protocol
from tpdl.judge.session import write_new_file


def test_a_profile_counts_each_check_and_each_request():
    measured = profile.Profile()
    with measured.check("first"):
        with measured.timed("notebook", "start (runs the notebook)"):
            pass
        with measured.timed("models", "Predict"):
            pass
    with measured.timed("judge", "stop the workers"):
        pass
    figures = measured.finish().to_json()
    assert set(figures["checks_s"]) == {"first"}
    assert figures["requests"]["models: Predict"]["count"] == 1
    assert [span["check"] for span in figures["spans"]] == ["first", "first", profile.OUTSIDE]
    assert figures["total_s"] >= sum(figures["checks_s"].values())


def test_a_class_summary_ranks_the_slowest_first_and_counts_absent_checks_as_zero():
    students = [
        {
            "total_s": 10.0,
            "checks_s": {"a": 6.0, "b": 1.0},
            "outside_checks_s": 3.0,
            "requests": {"models: Predict": {"count": 2, "seconds": 5.0}},
        },
        {"total_s": 12.0, "checks_s": {"a": 8.0}, "outside_checks_s": 4.0, "requests": {}},
    ]
    summary = profile.summarise(students)
    assert summary["students"] == 2 and summary["median_total_s"] == 11.0
    assert [row["check"] for row in summary["checks"]] == ["a", profile.OUTSIDE, "b"]
    assert summary["checks"][2]["median_s"] == 0.5  # b: 1.0 and 0.0
    assert summary["requests"][0]["median_s"] == 2.5
    text = profile.table(summary)
    assert "| a | 7.00 | 64% |" in text and "models: Predict" in text
    assert profile.table(profile.summarise([])) == "(no student was graded)"


def test_the_judge_creates_a_file_for_a_call_and_never_through_a_link(tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    assert write_new_file(work, "store.db", b"judge")
    assert (work / "store.db").read_bytes() == b"judge"
    assert not write_new_file(work, "store.db", b"again"), "an existing file is never replaced"
    outside = tmp_path / "outside.db"
    (work / "planted.db").symlink_to(outside)
    assert not write_new_file(work, "planted.db", b"judge") and not outside.exists()
    (work / "linked").symlink_to(tmp_path)
    assert not write_new_file(work, "linked/store.db", b"judge") and not (tmp_path / "store.db").exists()
    assert not write_new_file(work, "../escape.db", b"judge")
    assert oct(os.stat(work / "store.db").st_mode & 0o777) == "0o600"


class _References:
    """Stands in for a submission's session: counts the reference runs it is asked to make."""

    def __init__(self):
        self.runs = 0
        self.waits = []

    def ask_reference(self, request, failure, timeout_s):
        self.runs += 1
        self.waits.append(timeout_s)
        return protocol.History(history={"val_loss": [float(request.seed)]}, epoch=[0])


IMAGES = (
    np.zeros((4, 784), np.uint8),
    np.zeros(4, np.uint8),
    np.zeros((2, 784), np.uint8),
    np.zeros(2, np.uint8),
)


def submission_making_references() -> student.Submission:
    submission = student.Submission.__new__(student.Submission)
    submission.session = _References()
    return submission


def test_a_reference_run_is_made_once_per_distinct_request(monkeypatch):
    monkeypatch.setattr(kit_runs, "REFERENCE_RUNS", {})
    submission = submission_making_references()
    config = {"optimizer": "sgd"}
    first = submission.train_reference_mlp(config, IMAGES, 1, 2, seed=3)
    first["val_loss"].append("changed by a grader")  # a copy: the remembered run is untouched
    assert submission.train_reference_mlp(config, IMAGES, 1, 2, seed=3) == {"val_loss": [3.0]}
    assert submission.session.runs == 1
    submission.train_reference_mlp(config, IMAGES, 1, 2, seed=4)
    other = IMAGES[0].copy()
    other[0, 0] = 1
    submission.train_reference_mlp(config, (other, *IMAGES[1:]), 1, 2, seed=3)
    assert submission.session.runs == 3, "another seed or other data is another run"
    assert submission.session.waits == [kit_runs.REFERENCE_RUN_S] * 3, (
        "a reference run is not held to the request limit"
    )


def test_a_kept_reference_run_is_made_once_per_machine(monkeypatch, tmp_path):
    """Is a run kept (every grading asks for it alike) read back by a later judge process, and is
    one not kept made again?"""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(kit_runs, "REFERENCE_RUNS", {})
    submission = submission_making_references()
    config = {"optimizer": "adam"}
    submission.train_reference_mlp(config, IMAGES, 1, 2, seed=3, keep=True)
    submission.train_reference_mlp(config, IMAGES, 1, 2, seed=4)
    kit_runs.REFERENCE_RUNS.clear()  # a later judge process
    assert submission.train_reference_mlp(config, IMAGES, 1, 2, seed=3, keep=True) == {"val_loss": [3.0]}
    assert submission.session.runs == 2
    submission.train_reference_mlp(config, IMAGES, 1, 2, seed=4)
    assert submission.session.runs == 3, "a run not kept is made again by each judge process"


@pytest.mark.slow
def test_the_empty_store_is_a_current_mlflow_store_with_nothing_in_it(tmp_path):
    from tpdl.grading import tracking

    path = tmp_path / "given.db"
    path.write_bytes(tracking.empty_store())
    with sqlite3.connect(path) as db:
        tables = {name for (name,) in db.execute("select name from sqlite_master where type = 'table'")}
        assert {"experiments", "runs", "metrics", "params", "alembic_version"} <= tables
        assert db.execute("select count(*) from runs").fetchone() == (0,)
        assert db.execute("select count(*) from experiments where name != 'Default'").fetchone() == (0,)
