"""nbgrader's own commands, as the course configures them, on what a student controls.

In the exchange's inbound folder everything is the student's: a link to a file of the instructor's,
or a pipe that never ends, must neither be followed by ``nbgrader collect`` nor by ``nbgrader
autograde``, which copies a submission's files before the kit's judge sees them.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tpdl import paths

TP = "tp2"


def nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "TPDL_COURSE_DIR": str(course),
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env, capture_output=True,
                          text=True, timeout=300)  # fmt: skip


@pytest.fixture
def secret(tmp_path) -> Path:
    path = tmp_path / "instructors-secret.txt"
    path.write_text("the instructor's private key\n")
    return path


def test_collect_follows_no_link_and_reads_no_pipe(course, secret):
    inbound = course / "exchange" / "tpdl" / "inbound" / f"mallory+{TP}+2026-12-01 10:00:00.000000 UTC+abc"
    inbound.mkdir(parents=True)
    shutil.copyfile(paths.sample_submission("untouched", TP) / f"{TP}.ipynb", inbound / f"{TP}.ipynb")
    (inbound / "timestamp.txt").write_text("2026-12-01 10:00:00.000000 UTC")
    (inbound / "mlflow.db").write_bytes(b"a tracking store")
    (inbound / "stolen.txt").symlink_to(secret)
    os.mkfifo(inbound / "endless")
    done = nbgrader(course, "collect", TP)
    assert done.returncode == 0, done.stderr
    collected = course / "submitted" / "mallory" / TP
    assert (collected / "mlflow.db").read_bytes() == b"a tracking store", "collect must keep tracking stores"
    assert not (collected / "stolen.txt").exists() and not (collected / "stolen.txt").is_symlink()
    assert not (collected / "endless").exists()
    assert "Leaving out" in done.stderr


def test_autograde_copies_nothing_of_a_submission_holding_a_link(course, secret):
    submitted = course / "submitted" / "mallory" / TP
    submitted.mkdir(parents=True)
    shutil.copyfile(paths.sample_submission("untouched", TP) / f"{TP}.ipynb", submitted / f"{TP}.ipynb")
    (submitted / "stolen.txt").symlink_to(secret)
    done = nbgrader(course, "autograde", TP, "--student=mallory", "--force")
    assert "Not autograding" in done.stderr and "tpdl grade" in done.stderr
    assert not (course / "autograded" / "mallory").exists()


def test_collect_skips_folders_named_by_no_student(course):
    inbound = course / "exchange" / "tpdl" / "inbound"
    for name in (f"..+{TP}+2026-12-01 10:00:00.000000 UTC+abc", f"<b>eve;+{TP}+2026-12-01 10:00:00.000000 UTC+ab",
                 f"bob+{TP}+not a date+abc",
                 f"alice+{TP}+2026-12-01 10:00:00.000000 UTC+abc"):  # fmt: skip
        (inbound / name).mkdir(parents=True)
        shutil.copyfile(
            paths.sample_submission("untouched", TP) / f"{TP}.ipynb", inbound / name / f"{TP}.ipynb"
        )
    done = nbgrader(course, "collect", TP)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (course / "submitted").iterdir()) == ["alice"]
    assert not (course / TP).exists(), "a submission was copied outside submitted/"
    assert done.stderr.count("Not collecting") == 2
