"""Does the sandbox jail its workers, tell the student how one ended, and start again after its
zygote died?"""

import json
import os
import signal
import subprocess
import sys

import pytest

from tpdl.judge import protocol, sandbox


def test_the_jail_shares_no_network_and_writes_only_its_spool(tmp_path):
    command = sandbox.bwrap_command(tmp_path, privileged=False)
    assert "--unshare-all" in command and "--die-with-parent" in command
    writable = [command[i + 1 : i + 3] for i, arg in enumerate(command) if arg == "--bind"]
    assert writable == [[str(tmp_path), "/spool"]]


@pytest.mark.parametrize("privileged", [False, True] if os.geteuid() == 0 else [False])
def test_nothing_on_the_workers_import_path_can_be_written_in_the_jail(tmp_path, privileged):
    """The jail's root and the folders bwrap makes above the kit are read-only: a module a student's
    code left there would be imported by the next student's worker (on one user, where the judge is
    not root). Only the jail's /tmp and its spool take writes."""
    probe = (
        "import json, sys\n"
        "where = {}\n"
        "for path in sys.argv[1:]:\n"
        "    try:\n"
        "        open(path, 'w').write('raise SystemExit')\n"
        "        where[path] = 'written'\n"
        "    except OSError as error:\n"
        "        where[path] = type(error).__name__\n"
        "print(json.dumps(where))"
    )
    kit = str(sandbox.PACKAGE.parent / "statistics.py")
    targets = ["/statistics.py", kit, "/tmp/scratch.py", "/spool/scratch.py"]
    command = sandbox.bwrap_command(tmp_path, privileged=privileged)
    done = subprocess.run(
        [*command, sys.executable, "-c", probe, *targets], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    where = json.loads(done.stdout)
    assert where["/statistics.py"] != "written" and where[kit] != "written", where
    assert where["/tmp/scratch.py"] == where["/spool/scratch.py"] == "written", where


def test_a_worker_answers_a_call_of_the_students_function(bare_zygote, notebook_folder):
    work = notebook_folder("def add(a, b):\n    return a + b", "raise ValueError('late')")
    worker = bare_zygote.spawn("notebook", work, "n.ipynb")
    try:
        assert worker.gone is None
        assert [cell.status for cell in worker.ready.cells] == ["ok", "error"]
        assert worker.ask(protocol.Call(name="add", args=[2, 3])).value == 5
        with pytest.raises(sandbox.WorkerError, match="^TypeError: can only concatenate str"):
            worker.ask(protocol.Call(name="add", args=["a", 1]))
    finally:
        bare_zygote.discard(worker)
    assert worker.gone == "was closed by the judge"


def test_a_worker_killed_by_a_signal_is_said_to_have_been(bare_zygote, notebook_folder):
    work = notebook_folder("import os, signal\ndef die():\n    os.kill(os.getpid(), signal.SIGKILL)")
    worker = bare_zygote.spawn("notebook", work, "n.ipynb")
    try:
        with pytest.raises(sandbox.WorkerGone) as gone:
            worker.ask(protocol.Call(name="die"))
    finally:
        bare_zygote.discard(worker)
    assert gone.value.reason.startswith("was stopped by SIGKILL")


def test_a_zygote_that_died_is_replaced_at_the_next_spawn(notebook_folder):
    with sandbox.Zygote(sandbox.Limits(notebook_s=30.0), preload=()) as jail:
        first_spool = jail.spool
        os.killpg(jail.jail_pid, signal.SIGKILL)
        jail.process.wait()
        assert not jail.alive()
        worker = jail.spawn("notebook", notebook_folder("x = 1"), "n.ipynb")
        jail.discard(worker)
        assert worker.ready.ok and jail.alive() and jail.spool != first_spool
    assert not first_spool.exists()


def test_the_zygote_answers_a_reap_of_no_worker_with_no_status(bare_zygote):
    assert bare_zygote.reap("0123456789ab") is None
    answer = bare_zygote.control(protocol.Reap(token="0123456789ab", wait_s=0), protocol.Reaped)
    assert answer == protocol.Reaped(token="0123456789ab", status=None)


def test_a_jail_starts_for_a_python_named_through_a_folder_it_does_not_bind(tmp_path):
    """``../.venv/bin/python`` run from a folder the jail does not bind: Python names itself
    ``<that folder>/../.venv/bin/python``."""
    started = subprocess.run(
        [
            os.path.relpath(sys.executable, tmp_path),
            "-c",
            "from tpdl.judge import sandbox; sandbox.Zygote(preload=()).start().close()",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert started.returncode == 0, started.stderr
