"""Do the class run's runners share one contract, and does a cluster's worker grade only its run's orders?"""

import json

import pytest

from tpdl.classroom import cluster, outcomes, runners
from tpdl.classroom import run as classroom
from tpdl.judge import protocol, sandbox


def test_the_runner_is_chosen_by_jobs_and_cluster():
    limits = sandbox.Limits()
    assert type(classroom.runner_for(1, limits)) is runners.LocalRunner
    pooled = classroom.runner_for(3, limits)
    assert type(pooled) is runners.PooledRunner and pooled.jobs == 3
    on_cluster = classroom.runner_for(1, limits, "tcp://127.0.0.1:8786", insecure=True)
    assert type(on_cluster) is cluster.ClusterRunner
    assert on_cluster.connection == cluster.Connection("tcp://127.0.0.1:8786", None)
    with pytest.raises(outcomes.UsageError, match="plain TCP"):
        classroom.runner_for(1, limits, "tcp://127.0.0.1:8786")


class Recording(runners.Runner):
    """A runner that grades every student full marks on one check, and remembers whom it was given."""

    def __init__(self):
        self.started, self.closed, self.given = 0, 0, []

    def start(self) -> None:
        self.started += 1

    def grade(self, assignment, key, todo, record, progress) -> None:
        for task in todo:
            self.given.append(task.student)
            check = {"name": "one", "points": 1.0, "max_points": 1.0, "passed": True, "message": ""}
            result = {**outcomes.empty_result(task.student, assignment), "checks": [check], "score": 1.0}
            if task.student == "partial":  # a problem of ours: graded again by the next run
                result, _log = outcomes.problem_result(task.student, assignment, "the machine failed")
            record(task, result, "its log")

    def close(self) -> None:
        self.closed += 1


def test_a_class_run_hands_each_student_to_its_runner_once(course, tmp_path, monkeypatch):
    """Is every student given to the runner, its result written as it comes, and a second run
    given only the student whose grading hit a problem of ours?"""
    submissions = tmp_path / "handed-in"
    notebook = (course / "release" / "tp1" / "tp1.ipynb").read_bytes()
    for student in ("ada", "partial"):
        (submissions / student / "tp1").mkdir(parents=True)
        (submissions / student / "tp1" / "tp1.ipynb").write_bytes(notebook)
    runner = Recording()
    monkeypatch.setattr(classroom, "runner_for", lambda *args: runner)
    first = classroom.grade_class("tp1", submissions, progress=False, out=tmp_path / "out")
    assert sorted(runner.given) == ["ada", "partial"] and runner.started == runner.closed == 1
    assert first.students["ada"]["score"] == 1.0 and first.infrastructure == ["partial"]
    saved = json.loads((tmp_path / "out" / "autograded" / "ada" / "tp1" / outcomes.RESULTS).read_text())
    assert saved["fingerprint"] and saved["checks"][0]["name"] == "one"
    runner.given.clear()
    again = classroom.grade_class("tp1", submissions, progress=False, out=tmp_path / "out")
    assert runner.given == ["partial"] and again.reused == ["ada"]


def order(plugin: cluster.SandboxPlugin, archive: bytes, judge_key: str) -> bytes:
    return plugin.order("task-1", "tp1", "ada", "tp1.ipynb", archive, judge_key)


def test_a_worker_takes_only_its_runs_orders_for_their_own_archive(tmp_path):
    (tmp_path / "tp1.ipynb").write_text("{}")
    archive = cluster.pack(tmp_path)
    ours, theirs = cluster.SandboxPlugin(sandbox.Limits()), cluster.SandboxPlugin(sandbox.Limits())
    with pytest.raises(protocol.Unauthenticated):
        ours.grade(order(theirs, archive, "0" * 64), archive)
    with pytest.raises(protocol.Unauthenticated, match="not the one the order names"):
        ours.grade(order(ours, archive, "0" * 64), archive + b"\0")


def test_a_worker_whose_kit_differs_refuses_to_grade_without_starting_a_sandbox(tmp_path):
    (tmp_path / "tp1.ipynb").write_text("{}")
    archive = cluster.pack(tmp_path)
    plugin = cluster.SandboxPlugin(sandbox.Limits())
    sealed = plugin.grade(order(plugin, archive, "0" * 64), archive)
    answer = protocol.unseal(plugin.key, protocol.ANSWER, protocol.GradedAnswer, sealed, "the answer")
    assert answer.task == "task-1" and answer.result.student == "ada"
    assert "refused to grade" in answer.log and plugin.zygote is None
