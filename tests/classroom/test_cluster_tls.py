"""Does `tpdl grade --cluster` take part only in a cluster that proves itself, and record only what it sent?

The slow tests share one real cluster: a Dask scheduler and two worker processes, started with
Dask's own command lines and the certificates `tpdl cluster-certs` makes, speaking mutual TLS on
the loopback (one per pytest-xdist worker that runs any of them: live processes cannot be handed
from one worker to another). Each attack on the network door leaves a proof the test reads (an error the
attacker saw, the scheduler's log of a refused handshake, a forgery noted by the forger) and
earns nothing; the honest students graded in the same runs keep the grades of `--jobs 1`.
"""

import json
import os
import re
import shutil
import signal
import socket
import ssl
import stat
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import class_runs
import distributed
import nbformat
import psutil
import pytest
from cryptography import x509
from distributed.security import Security

from tpdl import cli
from tpdl.classroom import cluster
from tpdl.classroom import run as classroom
from tpdl.core import paths
from tpdl.judge import protocol, sandbox

FORGER = Path(__file__).parent.parent / "cluster_forger.py"
START_S = 60  # for the scheduler and the workers to come up
CANARY = "the rogue's code ran"


def run_tpdl(*args, course):
    env = {**os.environ, "TPDL_COURSE_DIR": str(course)}
    return subprocess.run(
        [sys.executable, "-m", "tpdl.cli", *args], env=env, capture_output=True, text=True, timeout=120
    )


def make_certs(folder: Path) -> Path:
    assert cli.main(["cluster-certs", str(folder)]) == 0
    return folder


# --------------------------------------------------------------------------- without a cluster


def test_cluster_certs_are_private_and_signed_by_their_own_ca(tmp_path, capsys):
    """Does `tpdl cluster-certs` make a CA and three certificates signed by it, keys 0600 in a 0700
    folder, the CA's key nowhere, and say which file goes where?"""
    folder = make_certs(tmp_path / "certs")
    said = capsys.readouterr().out
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["ca.pem", *(f"{role}.{ext}" for role in cluster.ROLES for ext in ("pem", "key"))]
    )
    ca = x509.load_pem_x509_certificate((folder / "ca.pem").read_bytes())
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    for role in cluster.ROLES:
        assert stat.S_IMODE((folder / f"{role}.key").stat().st_mode) == 0o600
        certificate = x509.load_pem_x509_certificate((folder / f"{role}.pem").read_bytes())
        certificate.verify_directly_issued_by(ca)
        assert not certificate.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        assert f"{role}.pem, {role}.key" in said
    assert "PRIVATE KEY" not in (folder / "ca.pem").read_text()
    assert cli.main(["cluster-certs", str(folder)]) == 2, "an existing CA is never overwritten"
    assert "already holds" in capsys.readouterr().err


def _lan_address() -> str | None:
    """An address of this machine that is not a loopback one, if it has any."""
    for addresses in psutil.net_if_addrs().values():
        for address in addresses:
            if address.family == socket.AF_INET and not address.address.startswith("127."):
                return address.address
    return None


def test_a_plain_tcp_address_on_the_lan_is_refused(course, tmp_path):
    """Does `tpdl grade --cluster tcp://LAN` refuse before connecting, even with --insecure-cluster,
    while a listener at that address waits for the judge in vain?"""
    host = _lan_address() or pytest.skip("this machine has no address besides the loopback")
    with socket.socket() as listener:
        listener.bind((host, 0))
        listener.listen()
        listener.settimeout(0.5)
        address = f"tcp://{host}:{listener.getsockname()[1]}"
        plain = run_tpdl("grade", "tp1", "--cluster", address, "--no-progress", course=course)
        insecure = run_tpdl(
            "grade", "tp1", "--cluster", address, "--insecure-cluster", "--no-progress", course=course
        )
        with pytest.raises(TimeoutError):
            listener.accept()  # no connection came
    assert plain.returncode == 2 and f"{address} is plain TCP" in plain.stderr and "tls://" in plain.stderr
    assert insecure.returncode == 2 and f"loopback (127.0.0.0/8, ::1) only, not {host}" in insecure.stderr
    assert not (course / "autograded").exists(), "nothing was graded"


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:8786", "tcp://localhost:8786", "tcp://[::1]:8786"])
def test_insecure_cluster_accepts_the_loopback_only(address):
    """Is a plain tcp:// address allowed with --insecure-cluster on the loopback, and only with it?"""
    assert cluster.Connection.to(address, insecure=True).security is None
    with pytest.raises(classroom.UsageError, match="is plain TCP"):
        cluster.Connection.to(address)


def test_the_judge_needs_its_certificate(tmp_path):
    """Does a tls:// address without the judge's certificate, or with its key readable by others,
    stop with a message saying what to do?"""
    with pytest.raises(classroom.UsageError, match="tpdl cluster-certs"):
        cluster.Connection.to("tls://scheduler:8786", tmp_path / "none")
    folder = make_certs(tmp_path / "certs")
    assert cluster.Connection.to("tls://scheduler:8786", folder).security.require_encryption
    (folder / "client.key").chmod(0o644)
    with pytest.raises(classroom.UsageError, match="readable by others"):
        cluster.Connection.to("tls://scheduler:8786", folder)


def _graded(student="untouched", score=0.0) -> dict:
    check = {
        "name": "model_saved",
        "points": score,
        "max_points": 2.0,
        "passed": bool(score),
        "message": "",
        "cell": None,
        "counted": True,
    }
    return {
        "student": student,
        "assignment": "tp1",
        "score": score,
        "max_score": 2.0,
        "checks": [check],
        "notebook": {"cells": []},
        "seconds": 1.5,
        "internal_errors": 0,
    }


def test_an_answer_is_recorded_only_sealed_by_the_run_for_its_task():
    """Does the judge's check of an answer take only one sealed with the run's key, for the task it
    sent, with a result whose score is its checks', and refuse every other?"""
    key, task = b"k" * 32, "tpdl-grade-untouched-1"
    answer = {"task": task, "result": _graded(), "log": "log"}
    sealed = protocol.seal(key, protocol.ANSWER, answer)
    assert protocol.unseal(key, protocol.ANSWER, protocol.GradedAnswer, sealed, "it").result.score == 0
    forged = {**answer, "result": _graded(score=2.0)}
    refusals = {
        "another key": protocol.seal(b"x" * 32, protocol.ANSWER, forged),
        "altered": sealed[: protocol.MAC_HEX] + json.dumps(forged).encode(),
        "an order's seal": protocol.seal(key, protocol.ORDER, forged),
        "no seal": json.dumps(forged).encode(),
        "not bytes": (forged["result"], "log"),
    }
    for how, bad in refusals.items():
        with pytest.raises(protocol.Unauthenticated):
            protocol.unseal(key, protocol.ANSWER, protocol.GradedAnswer, bad, how)
    invalid = {
        "a score beyond its checks": _graded() | {"score": 2.0},
        "points beyond the check's": _graded(score=3.0),
        "points for a failed check": {
            **_graded(score=2.0),
            "checks": [{**_graded(score=2.0)["checks"][0], "passed": False}],
        },
        "a field of its own": _graded() | {"bonus": 10},
    }
    for how, result in invalid.items():
        with pytest.raises(protocol.ProtocolError) as refused:
            protocol.unseal(
                key,
                protocol.ANSWER,
                protocol.GradedAnswer,
                protocol.seal(key, protocol.ANSWER, {**answer, "result": result}),
                how,
            )
        assert not isinstance(refused.value, protocol.Unauthenticated), how


@dataclass
class Finished:
    """A task's future as the judge holds it once the task is done."""

    value: object

    def result(self):
        return self.value


def test_an_answer_sealed_for_another_task_is_not_recorded():
    """Does the judge turn a genuine answer of another student's task (replayed by whoever places a
    result under a task of this run) into a problem result, and record the one for its task?"""
    key = b"k" * 32
    reference = protocol.seal(
        key, protocol.ANSWER, {"task": "t-reference", "result": _graded("reference", 2.0), "log": ""}
    )
    result, _log = cluster.collected(Finished(reference), key, "t-untouched", "tp1", "untouched")
    assert result["score"] == 0 and "the result of another task" in result["infrastructure"]
    result, _log = cluster.collected(Finished(reference), key, "t-reference", "tp1", "reference")
    assert result["score"] == 2.0 and "infrastructure" not in result
    forged = (_graded(score=2.0), "")
    result, _log = cluster.collected(Finished(forged), key, "t-untouched", "tp1", "untouched")
    assert result["score"] == 0 and "could not be authenticated" in result["infrastructure"]


def test_a_worker_grades_only_orders_of_its_run():
    """Does a worker's plugin refuse an order sealed with another run's key, or with another archive,
    before it unpacks anything?"""
    plugin, other = cluster.SandboxPlugin(sandbox.Limits()), cluster.SandboxPlugin(sandbox.Limits())
    archive = b"an archive"
    order = other.order("tpdl-grade-s-1", "tp1", "s", "tp1.ipynb", archive, "0" * 64)
    with pytest.raises(protocol.Unauthenticated, match="HMAC"):
        plugin.grade(order, archive)
    own = plugin.order("tpdl-grade-s-1", "tp1", "s", "tp1.ipynb", archive, "0" * 64)
    with pytest.raises(protocol.Unauthenticated, match="not the one the order names"):
        plugin.grade(own, b"another archive")
    assert plugin.zygote is None, "no sandbox was started"


# --------------------------------------------------------------------------- a real TLS cluster


@dataclass
class TlsCluster:
    address: str
    course: Path
    submissions: Path
    certs: Path
    other: Path  # a second CA's certificates, as a stranger would make them
    scheduler_log: Path
    forgery: Path
    proof: Path
    folder: Path


def _start(command: list[str], log: Path, env: dict) -> subprocess.Popen:
    with open(log, "wb") as output:
        return subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _scheduler(certs: Path, folder: Path, name: str, env: dict) -> tuple[subprocess.Popen, str]:
    """A TLS scheduler on the loopback (``dask scheduler``) and its address."""
    found = folder / f"{name}.json"
    process = _start(
        [
            sys.executable,
            "-m",
            "distributed.cli.dask_scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--protocol",
            "tls",
            "--tls-ca-file",
            str(certs / "ca.pem"),
            "--tls-cert",
            str(certs / "scheduler.pem"),
            "--tls-key",
            str(certs / "scheduler.key"),
            "--no-dashboard",
            "--scheduler-file",
            str(found),
        ],
        folder / f"{name}.log",
        env,
    )
    deadline = time.monotonic() + START_S
    while not found.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert found.exists(), (folder / f"{name}.log").read_text()
    return process, json.loads(found.read_text())["address"]


@pytest.fixture(scope="module")
def tls_cluster(tmp_path_factory, new_course):
    """A scheduler and two worker processes over mutual TLS, the course and the sample class they grade."""
    folder = tmp_path_factory.mktemp("tls-cluster")
    course = new_course(folder / "course")
    submissions = course / "submitted"
    shutil.copytree(paths.sample_class(), submissions)
    honest = submissions / "attacker-honest" / "tp1"  # the attacker's notebook without its attack cell
    honest.mkdir(parents=True)
    notebook = nbformat.read(submissions / "attacker" / "tp1" / "tp1.ipynb", as_version=4)
    notebook.cells = [c for c in notebook.cells if "tries to earn points" not in c.source]
    nbformat.write(notebook, honest / "tp1.ipynb")
    shutil.copytree(submissions / "untouched", submissions / "pickler")  # answered with a pickle
    certs, other = make_certs(folder / "certs"), make_certs(folder / "other")
    forgery, proof = folder / "forgery.json", folder / "forged.jsonl"
    env = {
        **os.environ,
        "TPDL_COURSE_DIR": str(course),
        "TPDL_TEST_FORGERY": str(forgery),
        "TPDL_TEST_FORGERY_PROOF": str(proof),
        "TPDL_TEST_FORGERY_CANARY": str(folder / "canary"),
    }
    processes = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TPDL_COURSE_DIR", str(course))
        try:
            scheduler, address = _scheduler(certs, folder, "scheduler", env)
            processes.append(scheduler)
            for index in range(2):
                processes.append(
                    _start(
                        [
                            sys.executable,
                            "-m",
                            "distributed.cli.dask_worker",
                            address,
                            "--nthreads",
                            "1",
                            "--no-nanny",
                            "--no-dashboard",
                            "--name",
                            f"worker-{index}",
                            "--tls-ca-file",
                            str(certs / "ca.pem"),
                            "--tls-cert",
                            str(certs / "worker.pem"),
                            "--tls-key",
                            str(certs / "worker.key"),
                            "--preload",
                            str(FORGER),
                            "--local-directory",
                            str(folder / f"worker-{index}"),
                        ],
                        folder / f"worker-{index}.log",
                        env,
                    )
                )
            with cluster.connect(cluster.Connection.to(address, certs)) as client:
                client.wait_for_workers(2, timeout=START_S)
            yield TlsCluster(
                address, course, submissions, certs, other, folder / "scheduler.log", forgery, proof, folder
            )
        finally:
            for process in processes:
                _stop(process)


@dataclass
class Graded:
    outcome: classroom.ClassResult
    saved: dict


@pytest.fixture(scope="module")
def graded_by_one(tls_cluster, shared_pool) -> Graded:
    """The sample class graded by one judge on this machine (``--jobs 1``, in the test process's warm
    pool), and what it wrote."""
    with shared_pool.used():
        outcome = classroom.grade_class("tp1", tls_cluster.submissions, progress=False, force=True)
    return Graded(outcome, class_runs.saved(tls_cluster.course))


@pytest.mark.slow
def test_the_sample_class_graded_over_tls_equals_jobs_1(tls_cluster, graded_by_one):
    """Do two worker processes of a TLS cluster grade the sample class check by check as `--jobs 1`,
    and write the same results?"""
    on_cluster = classroom.grade_class(
        "tp1",
        tls_cluster.submissions,
        progress=False,
        force=True,
        cluster=tls_cluster.address,
        cluster_certs=tls_cluster.certs,
    )
    assert not on_cluster.infrastructure
    assert class_runs.checks(on_cluster) == class_runs.checks(graded_by_one.outcome)
    assert on_cluster.students["reference"]["score"] == on_cluster.students["reference"]["max_score"] > 0
    assert class_runs.saved(tls_cluster.course) == graded_by_one.saved


class NoCertificate(Security):
    """A client that speaks TLS, trusts any scheduler and shows no certificate."""

    def get_connection_args(self, role):
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        return {"ssl_context": context, "require_encryption": True, "extra_conn_args": {}}


def _refused_handshake(log: Path, error: Exception) -> str:
    """Why the scheduler's log says it refused the TLS handshake of the connection that ``error`` names."""
    port = re.search(r"local=tls://127\.0\.0\.1:(\d+)", str(error)).group(1)
    pattern = rf"TLS handshake failed with remote 'tls://127\.0\.0\.1:{port}': (.*)"
    deadline = time.monotonic() + 10
    while not (found := re.findall(pattern, log.read_text())) and time.monotonic() < deadline:
        time.sleep(0.1)  # the scheduler logs it as it closes the connection
    return found[0] if found else ""


def _rogue_submits(address: str, security: Security, canary: Path) -> Exception:
    """What a rogue client gets when it tries to run code (writing ``canary``) on the cluster's workers."""
    try:
        with distributed.Client(address, security=security, timeout=10) as rogue:
            rogue.submit(canary.write_text, CANARY, pure=False).result(timeout=30)
    except Exception as error:  # noqa: BLE001 - what the attacker saw is the proof
        return error
    raise AssertionError("the rogue client was let in")


@pytest.mark.slow
def test_a_client_without_a_certificate_cannot_run_code(tls_cluster):
    """Is a client that shows no certificate refused by the scheduler before it can submit anything,
    while the judge's certificate still gets in?"""
    canary = tls_cluster.folder / "canary-no-certificate"
    error = _rogue_submits(tls_cluster.address, NoCertificate(), canary)
    assert isinstance(error, OSError), error  # the connection was closed on the rogue
    assert "did not return a certificate" in _refused_handshake(tls_cluster.scheduler_log, error)
    with pytest.raises(TypeError, match="ssl_context"):  # Dask's client without TLS does not even try
        distributed.Client(tls_cluster.address, timeout=5)
    with cluster.connect(cluster.Connection.to(tls_cluster.address, tls_cluster.certs)) as judge:
        assert len(judge.scheduler_info()["workers"]) == 2
    assert not canary.exists()


@pytest.mark.slow
def test_a_client_with_another_cas_certificate_cannot_run_code(tls_cluster):
    """Is a client whose certificate another CA signed (made by `tpdl cluster-certs` too) refused?"""
    canary = tls_cluster.folder / "canary-other-ca"
    stranger = Security(
        require_encryption=True,
        tls_ca_file=str(tls_cluster.certs / "ca.pem"),
        tls_client_cert=str(tls_cluster.other / "client.pem"),
        tls_client_key=str(tls_cluster.other / "client.key"),
    )
    error = _rogue_submits(tls_cluster.address, stranger, canary)
    assert isinstance(error, OSError), error
    assert "certificate verify failed" in _refused_handshake(tls_cluster.scheduler_log, error)
    assert not canary.exists()


@pytest.mark.slow
def test_a_scheduler_of_another_ca_gets_no_submission(tls_cluster):
    """Does the judge refuse a scheduler whose certificate another CA signed (a man in the middle),
    before sending it anything?"""
    env = {**os.environ, "TPDL_COURSE_DIR": str(tls_cluster.course)}
    impostor, address = _scheduler(tls_cluster.other, tls_cluster.folder, "impostor", env)
    try:
        with pytest.raises(classroom.InfrastructureError, match="TLS certificate does not match"):
            classroom.grade_class(
                "tp1",
                tls_cluster.submissions,
                progress=False,
                force=True,
                cluster=address,
                cluster_certs=tls_cluster.certs,
            )
    finally:
        _stop(impostor)
    log = (tls_cluster.folder / "impostor.log").read_text()
    assert "TLS handshake failed" in log and "unknown ca" in log.lower()
    assert "Receive client connection" not in log


@pytest.mark.slow
def test_results_forged_on_a_worker_earn_nothing(tls_cluster, graded_by_one):
    """Do results forged on a worker without the run's key (altered, sealed with another key, not
    sealed, or a pickle that would run the worker's code in the judge) become problem results at 0,
    while the honest students keep the grades of `--jobs 1`?"""
    plan = {"untouched": "altered", "mistakes": "own-key", "attacker": "unsealed", "pickler": "pickled"}
    tls_cluster.forgery.write_text(json.dumps(plan))
    try:
        forged = classroom.grade_class(
            "tp1",
            tls_cluster.submissions,
            progress=False,
            force=True,
            cluster=tls_cluster.address,
            cluster_certs=tls_cluster.certs,
        )
    finally:
        tls_cluster.forgery.unlink()
    proofs = [json.loads(line) for line in tls_cluster.proof.read_text().splitlines()]
    assert {p["student"]: p["how"] for p in proofs} == plan, "every forgery ran"
    assert all(p["score"] > 0 for p in proofs), "each forged a score"
    assert not (tls_cluster.folder / "canary").exists(), "the judge unpickled what a worker sent"
    for student in plan:
        result = forged.students[student]
        refused = "could not grade" if plan[student] == "pickled" else "could not be authenticated"
        assert result["score"] == 0 and refused in result["infrastructure"], student
        assert student in forged.infrastructure
        saved = json.loads((tls_cluster.course / "autograded" / student / "tp1" / "results.json").read_text())
        assert saved["score"] == 0 and saved["fingerprint"] == "", "graded again by the next run"
    honest = {s: v for s, v in class_runs.checks(forged).items() if s not in plan}
    assert honest == {s: v for s, v in class_runs.checks(graded_by_one.outcome).items() if s not in plan}
    assert forged.students["reference"]["score"] == forged.students["reference"]["max_score"] > 0
