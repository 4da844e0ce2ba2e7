"""Grading a class on the workers of a Dask distributed cluster (``tpdl grade --cluster ADDRESS``).

The judge (the ``tpdl grade`` process) stages every submission as it does for ``--jobs``; then
each student to grade becomes one Dask task, carrying the staged copy as a tar archive and the
judge's cache key (``tpdl.classroom.cache``). Every worker process holds one sandbox, started when
the run registers its :class:`SandboxPlugin` and reused for each student that worker grades; a
worker whose own cache key differs (another kit, graders, data or software on that node) refuses
to grade. Results come back in the order they are finished and are recorded by the judge exactly
as its own judge processes' are, so the outputs, the feedback and resuming after ``kill -9`` are
those of ``--jobs 1``. Dask grades again elsewhere a student whose worker is lost; a task that
fails for good (``KilledWorker``, a student stopped after ``STUDENT_S``, a task cancelled)
is its student's problem result, and the rest of the class goes on.

Who may take part. The judge speaks to the scheduler over mutual TLS (``tls://``): it shows its
client certificate and accepts only a scheduler whose certificate the cluster's own CA signed
(``tpdl cluster-certs`` makes them); a plain ``tcp://`` address is refused, except on this
machine's loopback with ``--insecure-cluster``. Each run draws a key of its own, which reaches the
workers inside its plugin, over TLS. The judge seals every order with it, a worker grades only an
order sealed with it, and seals its answer with it, bound to the order's task; the judge records
an answer only when its seal holds, it answers that task and ``tpdl.judge.protocol.GradedAnswer``
validates it. Anything else (a result forged or replayed by a task of another client or another
run, swapped between students, altered on the way, malformed) is that student's problem result.
The key is no secret from the cluster itself: the scheduler keeps the plugin, and whoever holds a
certificate of the CA can run code on the scheduler and the workers, and so can read it. The
judge's client reads what the cluster sends with msgpack only (never pickle, nor Dask's own
serialiser, whose header is a pickle), but Dask's protocol still unpickles messages it marks as
trusted: a certificate of the CA is a key to run code in the judge too. The certificates are the
cluster's keys; the seal makes every result recorded the work of this run's plugin for that
student's order.
"""

import asyncio
import contextlib
import datetime
import hashlib
import io
import ipaddress
import os
import secrets
import socket
import tarfile
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import distributed
from distributed.comm import parse_address, parse_host_port
from distributed.security import Security

from tpdl.classroom import report
from tpdl.classroom.cache import cache_key
from tpdl.classroom.outcomes import InfrastructureError, UsageError, problem_result
from tpdl.classroom.runners import JUDGE_START_S, STUDENT_S, Record, Runner, Task, grade_one
from tpdl.core import i18n
from tpdl.judge import protocol, sandbox

CONNECT_S = 30  # to reach the scheduler
# How the judge's client may read what the cluster sends: not pickle, nor "dask" (whose header is a pickle).
DESERIALIZERS = ("msgpack",)
WORKERS_S = JUDGE_START_S  # for a first worker to join a cluster that has none
CERTIFICATE_DAYS = 400  # a course's term and then some
ROLES = ("scheduler", "worker", "client")  # one certificate and key each, signed by the cluster's CA
WHERE = {
    "ca.pem": "everyone: the scheduler, every worker and the judge (--tls-ca-file)",
    "scheduler.pem, scheduler.key": "the scheduler only (--tls-cert, --tls-key)",
    "worker.pem, worker.key": "every worker node, readable by the workers' user only (--tls-cert, --tls-key)",
    "client.pem, client.key": "the judge: the machine and user that run `tpdl grade --cluster`",
}

# A worker process's sandbox grades one student at a time, however many threads the worker runs.
_SANDBOX_IN_USE = threading.RLock()


# --------------------------------------------------------------------------- certificates


def default_certs() -> Path:
    """Where the judge looks for its certificate when ``--cluster-certs`` is not given."""
    config = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(config) / "tpdl" / "cluster-certs"


def make_certificates(folder: Path, days: int = CERTIFICATE_DAYS) -> datetime.datetime:
    """A CA of the cluster's own, and a certificate and key signed by it for each of ``ROLES``, in
    ``folder`` (mode 0700, keys 0600); the CA's private key is never written, so nobody can sign
    another certificate for this cluster. Returns when the certificates expire."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    if days < 1:
        raise UsageError("--days must be at least 1")
    taken = [
        name
        for name in ("ca.pem", *(f"{role}.{ext}" for role in ROLES for ext in ("pem", "key")))
        if (folder / name).exists()
    ]
    if taken:
        raise UsageError(
            f"{folder} already holds {', '.join(taken)}: name an empty folder "
            "(a new CA replaces every certificate)"
        )
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)
    now = datetime.datetime.now(datetime.UTC)
    start = now - datetime.timedelta(hours=1)  # the nodes' clocks differ a little
    end = now + datetime.timedelta(days=days)

    def name(text: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = name(f"tpdl cluster CA {secrets.token_hex(4)}")
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    _write(folder / "ca.pem", ca.public_bytes(serialization.Encoding.PEM), 0o644)
    for role in ROLES:
        key = ec.generate_private_key(ec.SECP256R1())
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name(f"tpdl {role}"))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                critical=False,
            )  # every Dask process both listens and connects
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
            )
            .sign(ca_key, hashes.SHA256())
        )
        private = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        _write(folder / f"{role}.key", private, 0o600)
        _write(folder / f"{role}.pem", certificate.public_bytes(serialization.Encoding.PEM), 0o644)
    return end


def _write(path: Path, content: bytes, mode: int) -> None:
    """A new file holding ``content``, created with ``mode`` (never readable by others on the way)."""
    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    with os.fdopen(handle, "wb") as file:
        file.write(content)
    path.chmod(mode)  # whatever the umask took away


def client_security(folder: Path) -> Security:
    """The judge's mutual TLS: ``ca.pem``, ``client.pem`` and ``client.key`` of ``folder``."""
    files = {name: folder / name for name in ("ca.pem", "client.pem", "client.key")}
    missing = [name for name, path in files.items() if not path.is_file()]
    if missing:
        raise UsageError(
            f"no certificate for the judge in {folder} ({', '.join(missing)} missing): make the cluster's "
            "certificates with `tpdl cluster-certs`, or name their folder with --cluster-certs"
        )
    if files["client.key"].stat().st_mode & 0o077:
        raise UsageError(f"{files['client.key']} is readable by others: chmod 600 it")
    return Security(
        require_encryption=True,
        tls_ca_file=str(files["ca.pem"]),
        tls_client_cert=str(files["client.pem"]),
        tls_client_key=str(files["client.key"]),
    )


# --------------------------------------------------------------------------- the judge's side


@dataclass(frozen=True)
class Connection:
    """A scheduler's address, and the TLS the judge speaks to it (None: plain TCP on the loopback)."""

    address: str
    security: Security | None

    @classmethod
    def to(cls, address: str, certs: Path | None = None, insecure: bool = False) -> "Connection":
        """The connection ``--cluster address`` asks for; a ``UsageError`` unless it is TLS, or plain
        TCP to this machine's loopback with ``insecure``."""
        if not address:
            raise UsageError("--cluster needs the address of a Dask scheduler (tls://host:8786)")
        try:
            scheme, location = parse_address(address)
            host, _port = parse_host_port(location)
        except ValueError as error:
            raise UsageError(
                f"{address!r} is not the address of a Dask scheduler (tls://host:8786): {error}"
            ) from None
        if scheme == "tls":
            return cls(address, client_security(Path(certs) if certs else default_certs()))
        if scheme != "tcp":
            raise UsageError(f"--cluster speaks tls://, or tcp:// on the loopback; not {scheme}://")
        if not insecure:
            raise UsageError(
                f"{address} is plain TCP: anyone who reaches the scheduler could run code on its workers and "
                "send grades back. Use a tls:// address (`tpdl cluster-certs` makes the certificates), or "
                "--insecure-cluster for a scheduler on this machine's loopback"
            )
        if not _loopback(host):
            raise UsageError(
                f"--insecure-cluster is for a scheduler on this machine's loopback (127.0.0.0/8, ::1) only, "
                f"not {host}: use a tls:// address"
            )
        return cls(address, None)


def _loopback(host: str) -> bool:
    """Whether every address ``host`` names is a loopback address of this machine."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        pass
    try:
        found = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError:
        return False
    return bool(found) and all(ipaddress.ip_address(a.split("%")[0]).is_loopback for a in found)


class ClusterRunner(Runner):
    """The workers of the Dask scheduler ``connection`` names, each with a sandbox of its own."""

    def __init__(self, connection: Connection, limits: sandbox.Limits):
        self.connection = connection
        self.limits = limits

    def grade(self, assignment: str, key: str, todo: list[Task], record: Record, progress: bool) -> None:
        """Grade ``todo`` on the cluster's workers, every one of which must share the judge's cache
        ``key``; each result is recorded the moment it arrives, once authenticated and validated."""
        client = connect(self.connection)
        plugin = SandboxPlugin(self.limits)
        where = self.connection.address
        try:
            try:
                client.wait_for_workers(1, timeout=WORKERS_S)
            except TimeoutError:
                raise InfrastructureError(
                    f"no worker joined the Dask cluster at {where} within {WORKERS_S} s"
                ) from None
            try:
                client.register_plugin(plugin, name=plugin.name)
            except Exception as error:  # noqa: BLE001 - raised by a worker's setup, sent back by Dask
                raise InfrastructureError(
                    f"a worker of {where} could not start its sandbox: {type(error).__name__}: {error}"
                ) from None
            futures = {}
            for task in todo:
                archive = pack(task.staged.folder)
                name = f"tpdl-grade-{task.student}-{task.stamp}-{plugin.run}"
                order = plugin.order(name, assignment, task.student, task.notebook, archive, key)
                future = client.submit(grade_remotely, plugin.name, order, archive, key=name, pure=False)
                futures[future] = (name, task)
            bar = report.progress_bar(len(todo), enabled=progress)
            try:
                for future in distributed.as_completed(futures):
                    name, task = futures.pop(future)
                    result, log = collected(future, plugin.key, name, assignment, task.student)
                    future.release()  # the result is here: a worker lost now regrades no one
                    record(task, result, log)
                    bar.advance(task.student, result)
            finally:
                bar.close()
        finally:
            with contextlib.suppress(Exception):  # a scheduler gone took its workers' sandboxes with it
                client.unregister_worker_plugin(plugin.name)  # each worker closes its sandbox
            client.close()


def connect(connection: Connection) -> distributed.Client:
    """A client of the scheduler; a clear error when there is none to reach, or it is not the cluster's."""
    try:
        # Answers are sealed bytes: nothing a worker sends needs pickle, which would run its code here.
        return distributed.Client(
            connection.address, security=connection.security, timeout=CONNECT_S, deserializers=DESERIALIZERS
        )
    except ValueError as error:
        problem = UsageError(
            f"{connection.address!r} is not the address of a Dask scheduler (tls://host:8786): {error}"
        )
    except (OSError, TimeoutError) as error:
        where = connection.address
        problem = InfrastructureError(f"cannot reach the Dask scheduler at {where}: {error}")
    raise problem  # outside the handlers: the half-made client is not kept alive as the error's context


def pack(folder: Path) -> bytes:
    """The staged copy ``folder`` (regular files and folders only) as a tar archive, names relative to it."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        archive.add(folder, arcname=".")
    return buffer.getvalue()


def collected(
    future: distributed.Future, key: bytes, task: str, assignment: str, student: str
) -> tuple[dict, str]:
    """The ``(result, log)`` of a finished task, once its seal and content are checked; a task that
    failed, or an answer that is not this run's for this task, is its student's problem result."""
    try:
        sealed = future.result()
    except Exception as error:  # noqa: BLE001 - a worker lost (KilledWorker), the task cancelled...
        what = f"the cluster could not grade this submission: {type(error).__name__}: {error}"
        return problem_result(student, assignment, what)
    try:
        answer = protocol.unseal(key, protocol.ANSWER, protocol.GradedAnswer, sealed, "the answer")
    except protocol.Unauthenticated as error:
        what = f"the cluster sent a result that could not be authenticated: {error}"
        return problem_result(student, assignment, what)
    except protocol.ProtocolError as error:
        what = f"the cluster sent a result that is not valid: {error}"
        return problem_result(student, assignment, what)
    result = answer.result
    if answer.task != task or result.student != student or result.assignment != assignment:
        what = f"the cluster sent the result of another task ({answer.task[:120]!r}, {result.student!r})"
        return problem_result(student, assignment, what)
    return result.model_dump(exclude_unset=True), answer.log


# --------------------------------------------------------------------------- the workers' side


class SandboxPlugin(distributed.WorkerPlugin):
    """One sandbox per worker process: started at ``setup``, reused for every student, closed at ``teardown``.

    Each grading run registers a plugin of its own (``name``), holding the run's ``key``, so that
    two runs sharing a cluster never use or close each other's sandboxes, nor take each other's
    orders or answers.
    """

    def __init__(self, limits: sandbox.Limits):
        self.limits = limits
        self.run = secrets.token_hex(6)  # this grading run's, in its plugin's name and its tasks' keys
        self.name = f"tpdl-sandbox-{self.run}"
        self.key = secrets.token_bytes(32)  # seals this run's orders and answers
        self.zygote: sandbox.Zygote | None = None

    async def setup(self, worker: distributed.Worker) -> None:
        """Start the sandbox (TensorFlow imported) off the worker's event loop, before any student comes."""
        await asyncio.to_thread(self.running_sandbox)

    def teardown(self, worker: distributed.Worker) -> None:
        if self.zygote is not None:
            self.zygote.close()

    def running_sandbox(self) -> sandbox.Zygote:
        """This worker's sandbox, started again if it stopped (a student out of time, a jail that died)."""
        with _SANDBOX_IN_USE:
            if self.zygote is None or not self.zygote.alive():
                if self.zygote is not None:
                    self.zygote.close()
                self.zygote = sandbox.Zygote(self.limits).start()
            return self.zygote

    def order(
        self, task: str, assignment: str, student: str, notebook: str, archive: bytes, judge_key: str
    ) -> bytes:
        """The judge's sealed order to grade ``archive`` as the Dask task ``task``."""
        content = {
            "task": task,
            "assignment": assignment,
            "student": student,
            "notebook": notebook,
            "archive_sha256": hashlib.sha256(archive).hexdigest(),
            "judge_key": judge_key,
            "language": i18n.language(),
        }
        return protocol.seal(self.key, protocol.ORDER, content)

    def grade(self, sealed_order: bytes, archive: bytes) -> bytes:
        """Grade one student's archived submission here, if this run's judge ordered it; the answer sealed."""
        order = protocol.unseal(self.key, protocol.ORDER, protocol.GradingOrder, sealed_order, "the order")
        if hashlib.sha256(archive).hexdigest() != order.archive_sha256:
            raise protocol.Unauthenticated("the archive is not the one the order names")
        result, log = self._graded(order, archive)
        answer = {"task": order.task, "result": result, "log": log[: protocol.MAX_LOG]}
        return protocol.seal(self.key, protocol.ANSWER, answer)

    def _graded(self, order: protocol.GradingOrder, archive: bytes) -> tuple[dict, str]:
        """``(result, log)`` as ``runners.grade_one``, speaking to the student in the judge's language."""
        student, assignment = order.student, order.assignment
        with _SANDBOX_IN_USE, tempfile.TemporaryDirectory(prefix="tpdl-submission-") as scratch:
            # One grading at a time in this process: its graders read the language from the environment.
            os.environ[i18n.ENV] = order.language
            here = cache_key(assignment, self.limits)
            if here != order.judge_key:
                return problem_result(
                    student,
                    assignment,
                    f"the worker on {socket.gethostname()} refused to grade: its kit, graders, data or "
                    f"software differ from the judge's (cache key {here[:12]} there, "
                    f"{order.judge_key[:12]} on the judge)",
                )
            folder = Path(scratch) / assignment
            with tarfile.open(fileobj=io.BytesIO(archive)) as unpacked:
                unpacked.extractall(folder, filter="data")
            try:
                zygote = self.running_sandbox()
            except sandbox.SandboxUnavailable as error:
                what = f"the worker on {socket.gethostname()} could not start its sandbox: {error}"
                return problem_result(student, assignment, what)
            return _graded_in_time(zygote, assignment, student, folder, order.notebook)


def _graded_in_time(zygote: sandbox.Zygote, assignment, student, folder: Path, notebook) -> tuple[dict, str]:
    """``runners.grade_one``, its sandbox stopped if the student keeps it past ``STUDENT_S``."""
    out_of_time = threading.Event()

    def stop() -> None:
        out_of_time.set()
        zygote.stop()  # its workers die, so every check still waiting on them returns at once

    watchdog = threading.Timer(STUDENT_S, stop)
    watchdog.start()
    try:
        result = grade_one(zygote, assignment, student, folder, notebook)
    except sandbox.SandboxUnavailable as error:
        result = problem_result(student, assignment, f"the sandbox stopped: {error}")
    finally:
        watchdog.cancel()
    if out_of_time.is_set():
        return problem_result(student, assignment, f"grading took more than {STUDENT_S} s and was stopped")
    return result


def grade_remotely(plugin: str, order: bytes, archive: bytes) -> bytes:
    """The task of one student, run on a worker: grade it with that worker's sandbox (plugin ``plugin``)."""
    worker = distributed.get_worker()
    return worker.plugins[plugin].grade(order, archive)
