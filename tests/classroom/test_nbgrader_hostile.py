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

from tpdl.core import paths

TP = "tp2"


def nbgrader(course: Path, *args: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "TPDL_COURSE_DIR": str(course),
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
    }
    return subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=course,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


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
    for name in (
        f"..+{TP}+2026-12-01 10:00:00.000000 UTC+abc",
        f"<b>eve;+{TP}+2026-12-01 10:00:00.000000 UTC+ab",
        f"bob+{TP}+not a date+abc",
        f"alice+{TP}+2026-12-01 10:00:00.000000 UTC+abc",
    ):
        (inbound / name).mkdir(parents=True)
        shutil.copyfile(
            paths.sample_submission("untouched", TP) / f"{TP}.ipynb", inbound / name / f"{TP}.ipynb"
        )
    done = nbgrader(course, "collect", TP)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in (course / "submitted").iterdir()) == ["alice"]
    assert not (course / TP).exists(), "a submission was copied outside submitted/"
    assert done.stderr.count("Not collecting") == 2


def handed_in(inbound: Path, name: str) -> Path:
    folder = inbound / name
    folder.mkdir(parents=True)
    shutil.copyfile(paths.sample_submission("untouched", TP) / f"{TP}.ipynb", folder / f"{TP}.ipynb")
    return folder


def test_collect_dates_a_submission_by_the_exchange_and_collects_every_other(course, secret):
    import datetime

    from nbgrader.utils import parse_utc

    inbound = course / "exchange" / "tpdl" / "inbound"
    received = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    early = handed_in(inbound, f"mallory+{TP}+2020-01-01 00:00:00.000000 UTC+a")  # a forged, early date
    (early / "timestamp.txt").write_text("2020-01-01 00:00:00.000000 UTC")
    handed_in(inbound, f"oscar+{TP}+2026-12-01 10:00:00.000000 UTC+b")
    (inbound / f"yan+{TP}+2026-12-01 10:00:00.000000 UTC+c").write_text("a file, not a folder")
    (inbound / f"zed+{TP}+2026-12-01 10:00:00.000000 UTC+d").symlink_to(
        secret.parent
    )  # a folder of the instructor's
    # oscar's earlier copy in submitted/ holds an unreadable date: nbgrader's collect stops there
    (course / "submitted" / "oscar" / TP).mkdir(parents=True)
    (course / "submitted" / "oscar" / TP / "timestamp.txt").write_text("garbage")
    handed_in(inbound, f"alice+{TP}+2026-12-01 10:00:00.000000 UTC+e")
    done = nbgrader(course, "collect", TP, "--update")
    assert done.returncode == 0, done.stderr
    collected = {p.name for p in (course / "submitted").iterdir()}
    assert {"mallory", "alice"} <= collected and not {"yan", "zed"} & collected, collected
    stamp = parse_utc((course / "submitted" / "mallory" / TP / "timestamp.txt").read_text())
    assert stamp >= received.replace(tzinfo=None), "the student's own date was kept"
    assert "oscar" in done.stderr and done.stderr.count("Not collecting") >= 3


def test_every_feedback_page_can_be_released(course):
    """A submission without a readable timestamp.txt or secret still gets both beside its page:
    nbgrader's release_feedback stops for the whole class at a page without them."""
    from tpdl.classroom import report

    staged = course / "staged"
    staged.mkdir()
    (staged / "timestamp.txt").write_text("garbage")
    (staged / "submission_secret.txt").write_text("../../not a secret")
    result = {"student": "oscar", "assignment": TP, "score": 0.0, "max_score": 1.0, "checks": []}
    report.write_student(result, staged, course / "autograded" / "oscar" / TP, "")
    page = report.write_feedback(result)
    assert {"timestamp.txt", "submission_secret.txt", f"{TP}.html"} <= {p.name for p in page.parent.iterdir()}
    assert "garbage" not in (page.parent / "timestamp.txt").read_text()


@pytest.mark.skipif(os.geteuid() != 0, reason="gives folders to other accounts (chown): root only")
def test_a_later_folder_in_a_students_name_by_another_account_never_displaces_theirs(course):
    """Another account hands in a later folder in a student's name: collect leaves it, and collects
    the student's own, earlier submission (not nothing). The accounts are the system's own ``daemon``
    (the student) and ``nobody`` (the forger)."""
    import pwd

    inbound = course / "exchange" / "tpdl" / "inbound"
    own = handed_in(inbound, f"daemon+{TP}+2026-12-01 10:00:00.000000 UTC+own")
    (own / "mine.txt").write_text("daemon's own work")
    forged = handed_in(inbound, f"daemon+{TP}+2026-12-01 11:00:00.000000 UTC+forged")
    (forged / "mine.txt").write_text("nobody's forgery")
    for folder, account in ((own, "daemon"), (forged, "nobody")):
        user = pwd.getpwnam(account)
        for path in (folder, *folder.iterdir()):
            os.chown(path, user.pw_uid, user.pw_gid)
    done = nbgrader(course, "collect", TP)
    assert done.returncode == 0, done.stderr
    assert (course / "submitted" / "daemon" / TP / "mine.txt").read_text() == "daemon's own work"
    assert "belongs to another user than the student its name gives" in done.stderr
