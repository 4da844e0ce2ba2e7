"""Does a kept runner start one sandbox for all the class runs of its process, and stop it when told?"""

import pytest

from tpdl.classroom import run as classroom
from tpdl.classroom import runners
from tpdl.judge import sandbox


class FakeZygote:
    """Stands in for a jail: counts how often it is launched, made ready and closed."""

    launched: list["FakeZygote"] = []

    def __init__(self, limits):
        self.limits, self.readied, self.closed = limits, 0, False

    def launch(self):
        FakeZygote.launched.append(self)
        return self

    def wait_ready(self):
        self.readied += 1
        return self

    def alive(self):
        return not self.closed

    def close(self):
        self.closed = True


@pytest.fixture
def launched(monkeypatch) -> list[FakeZygote]:
    """The jails the runners launch, fakes, in order; no warm pool answers."""
    monkeypatch.setattr(runners.sandbox, "Zygote", FakeZygote)
    monkeypatch.setattr(runners.pool, "connect", lambda limits: None)
    monkeypatch.setattr(FakeZygote, "launched", [])
    return FakeZygote.launched


def test_a_kept_runner_starts_one_sandbox_for_every_class_run_and_stops_it_on_release(launched):
    kept = runners.KeptRunner(runners.sandbox.Limits())
    for _ in range(3):  # three students, one class run each, as nbgrader's autograde grades them
        kept.start()
        kept.grade("tp1", "key", [], lambda *result: None, progress=False)
        kept.close()
    assert len(launched) == 1, "one sandbox for the three runs"
    (jail,) = launched
    assert jail.readied == 1 and not jail.closed, "made ready once, kept between runs"
    kept.release()
    assert jail.closed


def test_a_kept_runner_whose_sandbox_did_not_start_starts_another(launched):
    kept = runners.KeptRunner(runners.sandbox.Limits())
    kept.start()
    launched[0].closed = True  # its zygote died before it was ready
    kept.start()
    assert len(launched) == 2 and not launched[1].closed


def test_a_local_runner_stops_its_sandbox_at_the_end_of_its_run(launched):
    local = runners.LocalRunner(runners.sandbox.Limits())
    local.start()
    local.grade("tp1", "key", [], lambda *result: None, progress=False)
    local.close()
    assert launched[0].closed


@pytest.mark.parametrize(
    "choice", [{"limits": sandbox.Limits()}, {"jobs": 2}, {"cluster": "tls://127.0.0.1:8786"}]
)
def test_a_class_run_given_a_runner_refuses_what_would_choose_another(launched, choice):
    """A runner grades with its own limits, alone: limits, jobs or a cluster beside it are refused,
    not ignored."""
    with pytest.raises(ValueError, match="a runner grades with its own limits"):
        classroom.grade_class("tp1", runner=runners.KeptRunner(sandbox.Limits()), progress=False, **choice)
    assert launched == []
