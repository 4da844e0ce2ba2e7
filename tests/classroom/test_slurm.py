"""Does `tpdl grade --cluster` grade the sample class on Dask workers run as Slurm jobs as `--jobs 1` does?

The test starts a Slurm cluster of this machine's own: munged, slurmctld and slurmd with a private
configuration (a slurm.conf in a temporary folder, named by ``SLURM_CONF``, on TCP ports free when it
starts; munge's key, socket and state beside it, which slurm.conf's ``AuthInfo`` names), so nothing
in /etc changes and two test runs on one machine never meet. On it runs docs/cluster.md's Slurm recipe
as written: `tpdl cluster-certs`, `scripts/slurm-cluster CERTS --jobs 2`, `tpdl grade tp1 --cluster
ADDRESS --cluster-certs CERTS`, then SIGTERM. Where Slurm cannot run (not root, Debian's slurm-wlm or
munge missing, a daemon that does not start), the test skips and says why.
"""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import class_runs
import psutil
import pytest

from tpdl import cli
from tpdl.classroom import run as classroom
from tpdl.core import paths
from tpdl.judge.worker.common import PR_SET_PDEATHSIG, prctl

pytestmark = [pytest.mark.slow, pytest.mark.slurm]

RECIPE = Path(__file__).resolve().parents[2] / "scripts" / "slurm-cluster"
DAEMONS = ("munged", "slurmctld", "slurmd")
SBIN = os.pathsep.join((os.environ.get("PATH", ""), "/usr/sbin", "/sbin"))
START_S = 30  # for the daemons to take jobs, and for the workers to join
JOINED = "Workers joined: 2 of 2"  # what the recipe says once its two workers reached the scheduler
STOP_S = 20  # for the recipe to cancel its jobs, and for the daemons to stop


@dataclass
class Slurm:
    """A running Slurm cluster of this machine's own, and what its commands need to reach it."""

    folder: Path
    env: dict  # this process's environment and SLURM_CONF

    def run(self, *command: str, timeout: float = STOP_S) -> str:
        """What a Slurm command (squeue, sinfo...) prints."""
        done = subprocess.run(command, env=self.env, capture_output=True, text=True, timeout=timeout)
        done.check_returncode()
        return done.stdout

    def jobs(self) -> dict[str, tuple[str, str]]:
        """Each job still known to slurmctld: its id and (name, state)."""
        lines = self.run("squeue", "--noheader", "--format=%i %j %T").split()
        return {job: (name, state) for job, name, state in zip(lines[::3], lines[1::3], lines[2::3])}


def _free_port() -> int:
    """A TCP port that no process of this machine listens on now."""
    with socket.socket() as probe:
        probe.bind(("", 0))
        return probe.getsockname()[1]


def _config(folder: Path, node: str, munge_socket: Path) -> str:
    """slurm.conf of a one-node cluster whose every file is in ``folder``: no cgroups, no accounting
    database (ended jobs are listed in jobs.txt), and a node of two cores and 32 GiB whatever this
    machine has (nothing enforces them here), on which the recipe's two jobs, of one core and 10 GiB
    each, run side by side."""
    return f"""\
ClusterName=tpdl{os.getpid()}
SlurmctldHost={node}(127.0.0.1)
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={munge_socket}
StateSaveLocation={folder}/state
SlurmdSpoolDir={folder}/spool
SlurmctldPidFile={folder}/slurmctld.pid
SlurmdPidFile={folder}/slurmd.pid
SlurmctldLogFile={folder}/slurmctld.log
SlurmdLogFile={folder}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc={folder}/jobs.txt
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SlurmdParameters=config_overrides
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
NodeName={node} NodeAddr=127.0.0.1 CPUs=2 RealMemory=32768 State=UNKNOWN
PartitionName=tpdl Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""


def _tails(folder: Path) -> str:
    """The end of each daemon's log, to say why the cluster did not start."""
    return "\n".join(
        f"--- {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-15:])
        for log in sorted([*folder.glob("*.log"), *folder.glob("*.out")])
        if log.stat().st_size
    )


def _stop(daemons: list[subprocess.Popen], slurm: Slurm) -> None:
    """Cancel every job of the cluster, then stop its daemons, the last started first."""
    if len(daemons) > 1 and daemons[1].poll() is None:  # slurmctld runs
        cancel = ["scancel", "--full", f"--user={os.getuid()}"]
        subprocess.run(cancel, env=slurm.env, capture_output=True, timeout=STOP_S)
        deadline = time.monotonic() + STOP_S
        while _job_processes(slurm) and time.monotonic() < deadline:
            time.sleep(0.2)
    for daemon in reversed(daemons):
        daemon.terminate()
        try:
            daemon.wait(STOP_S)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()


def _job_processes(slurm: Slurm) -> set[psutil.Process]:
    """The processes of the cluster's jobs still running: its slurmstepd, what they run (their
    environment names the cluster's slurm.conf and a job) and everything these started."""
    roots = []
    for process in psutil.process_iter():
        try:
            env = process.environ()
            if env.get("SLURM_CONF") == slurm.env["SLURM_CONF"]:
                if "SLURM_JOB_ID" in env or process.name() == "slurmstepd":
                    roots.append(process)
        except psutil.Error:
            continue  # gone, or not ours to read
    return {*roots, *(child for root in roots for child in _children(root))}


def _children(process: psutil.Process) -> list[psutil.Process]:
    try:
        return process.children(recursive=True)
    except psutil.Error:
        return []


@pytest.fixture(scope="module")
def slurm(tmp_path_factory) -> Slurm:
    """munged, slurmctld and slurmd of a private cluster, started for this module and stopped after it."""
    if os.geteuid() != 0:
        pytest.skip("the test starts slurmd, which runs only as root")
    missing = [daemon for daemon in DAEMONS if shutil.which(daemon, path=SBIN) is None]
    missing += [tool for tool in ("sbatch", "squeue", "scancel", "scontrol") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} missing: `make setup` installs slurm-wlm and munge where it may")
    folder = tmp_path_factory.mktemp("slurm")
    for name in ("munge", "state", "spool"):
        (folder / name).mkdir()
    key = folder / "munge" / "munge.key"
    key.write_bytes(os.urandom(128))
    key.chmod(0o600)
    munge_socket = folder / "munge" / "munge.socket"
    node = socket.gethostname().split(".")[0]
    (folder / "slurm.conf").write_text(_config(folder, node, munge_socket))
    slurm = Slurm(folder, {**os.environ, "SLURM_CONF": str(folder / "slurm.conf")})
    munge = [
        shutil.which("munged", path=SBIN),
        "--foreground",
        "--force",  # its socket is inside the test's private (0700) folder: munged refuses that without it
        f"--socket={munge_socket}",
        f"--key-file={key}",
        f"--pid-file={folder / 'munge' / 'munged.pid'}",
        f"--seed-file={folder / 'munge' / 'munged.seed'}",  # it logs to its standard error
    ]
    commands = [
        munge,
        [shutil.which("slurmctld", path=SBIN), "-D"],
        [shutil.which("slurmd", path=SBIN), "-D", "-N", node],
    ]
    daemons: list[subprocess.Popen] = []
    try:
        for command in commands:
            with open(folder / f"{Path(command[0]).name}.out", "wb") as said:  # what it says before its log
                daemons.append(
                    subprocess.Popen(
                        command,
                        env=slurm.env,
                        stdout=said,
                        stderr=subprocess.STDOUT,
                        preexec_fn=_die_with_the_test_process,
                    )
                )
            if command is munge:
                _wait_for(lambda: munge_socket.exists(), daemons)
        _wait_for(lambda: _idle(slurm), daemons)
    except (RuntimeError, OSError) as error:
        _stop(daemons, slurm)
        pytest.skip(f"Slurm did not start here ({error}):\n{_tails(folder)}")
    try:
        yield slurm
    finally:
        _stop(daemons, slurm)


def _die_with_the_test_process() -> None:
    """Run in a child before its program: SIGTERM reaches it if the test process dies first."""
    prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _wait_for(ready, daemons: list[subprocess.Popen]) -> None:
    """Return once ``ready()``; a ``RuntimeError`` if a daemon stops first, or after ``START_S``."""
    deadline = time.monotonic() + START_S
    while True:
        stopped = [Path(daemon.args[0]).name for daemon in daemons if daemon.poll() is not None]
        if stopped:
            raise RuntimeError(f"{', '.join(stopped)} stopped")
        if ready():
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"not ready after {START_S} s")
        time.sleep(0.1)


def _idle(slurm: Slurm) -> bool:
    """Whether the cluster's node takes jobs (sinfo waits for a slurmctld that does not answer yet)."""
    try:
        return slurm.run("sinfo", "--noheader", "--format=%T", timeout=2).split() == ["idle"]
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
        return False


@pytest.fixture(scope="module")
def course(tmp_path_factory, new_course) -> Path:
    """A course, and in its submitted/ the sample class."""
    course = new_course(tmp_path_factory.mktemp("slurm-course") / "course")
    shutil.copytree(paths.sample_class(), course / "submitted")
    return course


class Recipe:
    """docs/cluster.md's Slurm recipe at work: `scripts/slurm-cluster CERTS --jobs 2`, and what it says."""

    def __init__(self, certs: Path, folder: Path, env: dict):
        self.certs = certs
        self.process = subprocess.Popen(
            [sys.executable, str(RECIPE), str(certs), "--jobs", "2"],
            cwd=folder,  # where Slurm writes the jobs' output
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            preexec_fn=_die_with_the_test_process,
        )
        self.said: list[str] = []
        self.reader = threading.Thread(target=self._read)
        self.reader.start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.said.append(line.rstrip())

    def joined(self, slurm: Slurm) -> tuple[str, list[str]]:
        """The scheduler's address and the ids of the jobs, once both workers joined."""
        deadline = time.monotonic() + START_S
        while JOINED not in self.said and self.process.poll() is None:
            if time.monotonic() > deadline:
                break
            time.sleep(0.1)
        said = "\n".join(self.said)
        assert JOINED in self.said, f"the workers did not join:\n{said}\n{_tails(slurm.folder)}"
        jobs = re.search(r"^Slurm jobs ([\d ]+) ", said, re.MULTILINE).group(1).split()
        return re.search(r"--cluster (tls://\S+)", said).group(1), jobs

    def stop(self) -> int:
        """Stop it as docs/cluster.md says (SIGTERM): its exit code, once it has said everything."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(STOP_S)
        self.reader.join()
        return code


@pytest.fixture
def recipe(slurm, course, tmp_path) -> Recipe:
    """`tpdl cluster-certs CERTS`, then the recipe started; stopped at the end if the test did not."""
    assert cli.main(["cluster-certs", str(tmp_path / "certs")]) == 0
    env = {**slurm.env, "TPDL_COURSE_DIR": str(course)}
    started = Recipe(tmp_path / "certs", tmp_path, env)
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture
def graded_by_one(course, shared_pool) -> dict:
    """The sample class graded by one judge on this machine (``--jobs 1``, in the test process's warm
    pool): its JSON results and its results.json files."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TPDL_COURSE_DIR", str(course))
        with shared_pool.used():
            outcome = classroom.grade_class("tp1", course / "submitted", progress=False, force=True)
    assert not outcome.infrastructure
    return {"json": outcome.to_json(), "saved": class_runs.saved(course)}


def test_the_sample_class_graded_on_slurm_jobs_equals_jobs_1(slurm, course, graded_by_one, recipe, tmp_path):
    """Do two Dask workers running as Slurm jobs grade the sample class check by check as `--jobs 1`,
    writing the same results, and are the jobs cancelled, their processes gone, when the recipe is
    told to stop?"""
    address, jobs = recipe.joined(slurm)
    assert slurm.jobs() == {job: ("tpdl-worker", "RUNNING") for job in jobs}
    workers = {
        process.environ()["SLURM_JOB_ID"]
        for process in _job_processes(slurm)
        if "distributed.cli.dask_worker" in " ".join(process.cmdline())
    }
    assert workers == set(jobs), "each job runs a Dask worker"
    results = tmp_path / "class.json"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TPDL_COURSE_DIR", str(course))
        graded = cli.main(
            [
                *("grade", "tp1", "--submissions", str(course / "submitted")),
                *("--cluster", address, "--cluster-certs", str(recipe.certs)),
                *("--force", "--json", str(results), "--no-progress"),
            ]
        )
    assert graded == 0
    on_slurm = json.loads(results.read_text())
    assert on_slurm == graded_by_one["json"]
    reference = on_slurm["students"]["reference"]
    assert reference["score"] == reference["max_score"] - reference["not_counted"] > 0
    assert class_runs.saved(course) == graded_by_one["saved"]

    assert recipe.stop() == 0
    assert "Stopped: the jobs are cancelled" in recipe.said
    deadline = time.monotonic() + STOP_S
    while (slurm.jobs() or _job_processes(slurm)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not slurm.jobs() and not _job_processes(slurm)
    ended = (slurm.folder / "jobs.txt").read_text()
    for job in jobs:
        assert re.search(rf"^JobId={job} .*Name=tpdl-worker JobState=CANCELLED ", ended, re.MULTILINE)
        said = (tmp_path / f"slurm-{job}.out").read_text()  # the job's worker took the run's sandbox
        for step in ("Starting", "Removing"):
            assert f"{step} Worker plugin tpdl-sandbox-" in said, f"job {job}'s output:\n{said}"
