"""Does the machine keep the kit's reference runs as the judge made them, for the kit that made them, and
for the judge's user alone?"""

import stat
import threading
import time

import pytest

from tpdl.core import paths
from tpdl.grading import ingredients, reference_runs
from tpdl.judge import protocol

RUN = protocol.History(history={"loss": [0.5, 0.25], "val_loss": [0.625, 0.5]}, epoch=[0, 1])
REQUEST = "0" * 64  # a request's digest


class Maker:
    """Makes :data:`RUN`, counting how often it was asked to."""

    def __init__(self, started: threading.Event | None = None, wait_s: float = 0.0):
        self.calls = 0
        self.started, self.wait_s = started, wait_s

    def __call__(self) -> protocol.History:
        self.calls += 1
        if self.started:
            self.started.set()
            time.sleep(self.wait_s)
        return RUN


@pytest.fixture
def kept_runs(tmp_path, monkeypatch):
    """The folder of kept runs, in a cache folder of this test's own."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "tpdl" / reference_runs.FOLDER


def test_a_run_is_made_once_then_read_back(kept_runs):
    make = Maker()
    assert reference_runs.kept(REQUEST, make) == RUN
    assert reference_runs.kept(REQUEST, make) == RUN
    assert make.calls == 1
    assert reference_runs.kept("1" * 64, make) == RUN
    assert make.calls == 2, "another request is another run"


def test_only_the_judges_user_can_read_or_write_them(kept_runs):
    reference_runs.kept(REQUEST, Maker())
    assert stat.S_IMODE(kept_runs.stat().st_mode) == 0o700
    files = list(kept_runs.iterdir())
    assert len(files) == 2  # the run and the lock
    assert all(stat.S_IMODE(path.stat().st_mode) == 0o600 for path in files)


def change_the_kit(tmp_path, monkeypatch):
    kit = tmp_path / "kit"
    kit.mkdir()
    (kit / "experiments.py").write_text("changed = True\n")
    monkeypatch.setattr(paths, "PACKAGE", kit)


def change_the_graders(tmp_path, monkeypatch):
    (tmp_path / "course" / "graders" / "tp2").mkdir(parents=True)
    (tmp_path / "course" / "graders" / "tp2" / "test_experiment.py").write_text("changed = True\n")
    monkeypatch.setenv("TPDL_COURSE_DIR", str(tmp_path / "course"))


def change_the_data(tmp_path, monkeypatch):
    monkeypatch.setattr(ingredients, "data_at_hand", lambda: [("TPDL_DATA_DIR/mnist.npz", "another digest")])


def change_the_software(tmp_path, monkeypatch):
    monkeypatch.setattr(ingredients, "software", lambda: ["tensorflow==0.0"])


@pytest.mark.parametrize("change", [change_the_kit, change_the_data, change_the_software])
def test_a_run_is_made_again_when_what_makes_it_changes(kept_runs, tmp_path, monkeypatch, change):
    make = Maker()
    reference_runs.kept(REQUEST, make)
    change(tmp_path, monkeypatch)
    reference_runs.kept(REQUEST, make)
    assert make.calls == 2


def test_a_change_to_the_graders_keeps_the_runs_they_ask_for(kept_runs, tmp_path, monkeypatch):
    """The graders choose the request (a new one is a new run); the kit's worker makes it."""
    make = Maker()
    reference_runs.kept(REQUEST, make)
    change_the_graders(tmp_path, monkeypatch)
    assert reference_runs.kept(REQUEST, make) == RUN
    assert make.calls == 1


@pytest.mark.parametrize(
    "content",
    [
        b"not json",
        b'{"history": {"loss": ["0.5"]}, "epoch": [0]}',
        b'{"history": {}, "epoch": [0], "x": 1}',
        b"",
    ],
    ids=["not-json", "text-for-numbers", "extra-field", "empty"],
)
def test_a_file_that_holds_no_valid_run_is_made_again(kept_runs, content):
    make = Maker()
    reference_runs.kept(REQUEST, make)
    (run_file,) = kept_runs.glob("*.json")
    run_file.write_bytes(content)
    assert reference_runs.kept(REQUEST, make) == RUN
    assert make.calls == 2
    assert reference_runs.kept(REQUEST, make) == RUN
    assert make.calls == 2, "the run made again is kept"


def test_a_folder_that_is_a_link_is_not_used(kept_runs, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    kept_runs.parent.mkdir(parents=True)
    kept_runs.symlink_to(elsewhere)
    make = Maker()
    reference_runs.kept(REQUEST, make)
    reference_runs.kept(REQUEST, make)
    assert make.calls == 2
    assert not list(elsewhere.iterdir())


def test_a_judge_waits_for_the_run_another_is_making(kept_runs):
    started = threading.Event()
    first, second = Maker(started, wait_s=0.5), Maker()
    making = threading.Thread(target=reference_runs.kept, args=(REQUEST, first))
    making.start()
    assert started.wait(10)  # the first judge holds the lock while it makes the run
    assert reference_runs.kept(REQUEST, second) == RUN
    making.join()
    assert (first.calls, second.calls) == (1, 0)
