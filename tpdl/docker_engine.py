"""Build and probe a student's Docker image in a box, where a Docker engine runs.

TP1 ends with the digit classifier served as a Docker image. The judge's sandbox has no Docker, so
the judge asks the machine's engine itself, through the ``docker`` command only (no Docker SDK),
each call under a timeout. A student's build runs in a box (:func:`build_and_probe`):

* **no network** but an internal Docker network of its own (``--internal``, and no address of the
  host on its bridge), where an index container serves the course's wheelhouse: the wheels of the
  TP's pinned requirements (:func:`prepare_wheelhouse`) laid out as a PEP 503 index. pip finds it
  through ``PIP_INDEX_URL`` and ``PIP_TRUSTED_HOST``, declared as ``ARG`` after each ``FROM`` of a
  copy of the Dockerfile and passed with ``--build-arg``: pip reads them from the environment of
  every ``RUN`` step, and, unlike ``ENV``, they stay out of the image;
* **base images from the engine's local store only**: every image a ``FROM`` or a
  ``COPY --from`` names is looked up before the build, and the classic builder pulls nothing it has;
* **limits**: memory (no swap) and CPU for each build step and for the container, a time limit on
  the build, what the build may write (measured every second), and a floor of free space on the
  engine's disk;
* **nothing left**: the containers, every image the build committed (each carries a label no one
  else knows) and the network are removed, whatever happened.

A failure of the machine's (no engine, a base image or the wheelhouse missing, the engine, the
index or the disk failing) raises :class:`MachineFailure`: the check waits, neither earned nor lost.
Only a failure of the student's Dockerfile is a result, told in words. The machine is judged by its
state after the failure, never by what the build printed, which the student controls.
"""

import argparse
import contextlib
import hashlib
import io
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from tpdl import manifest, paths
from tpdl.i18n import KIT as _

GiB, MiB = 2**30, 2**20
INFO_TIMEOUT_S = 5.0
COMMAND_TIMEOUT_S = 60.0
CLEANUP_TIMEOUT_S = 30.0
INDEX_WAIT_S = 20.0
HEALTH_WAIT_S = 120.0
REQUEST_TIMEOUT_S = 30.0
POLL_S = 1.0
LOG_LINES = 15
LINE_BYTES = 2**16  # a longer line of the build's output is cut
ANSWER_BYTES = 2**20  # what the probe reads of one HTTP answer
DOCKERFILE = "Dockerfile"
DEFAULT_BASE = "python:3.11-slim"  # serves the index where a TP's reference names no image
INDEX_PORT = 8080
SERVICE_PORT = 8000
BLANK_IMAGE = [[0] * 28] * 28
CPU_PERIOD_US = 100_000
# The wheelhouse is for the images' platform: TP1's base, python:3.11-slim, is CPython 3.11 on
# glibc x86_64. pip takes each manylinux tag it may use only when named: every one up to glibc 2.28.
WHEEL_PLATFORMS = [f"manylinux_2_{minor}_x86_64" for minor in range(28, 16, -1)] + ["manylinux2014_x86_64"]
WHEEL_PYTHON = "3.11"
INSTALLERS = ("pip", "setuptools", "wheel")  # what a Dockerfile may upgrade before installing
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")
LEGACY_BUILDER_NOTICE = re.compile(r"DEPRECATED: The legacy builder.*?environment-variable\.", re.DOTALL)
STEP_KILLED = re.compile(r"returned a non-zero code: 137\s*$")


@dataclass(frozen=True)
class Limits:
    """What one student's build and container may use."""

    memory_bytes: int = 2 * GiB  # each build step, and the container; no swap
    cpus: float = 1.0
    build_s: float = 900.0
    written_bytes: int = 4 * GiB  # what the build may add to its base images
    context_bytes: int = 512 * MiB  # the folder sent to the engine (the intake's own bound)
    processes: int = 256  # in the container
    disk_floor_bytes: int = 2 * GiB  # free space kept on the engine's disk; below it, the machine is full


class MachineFailure(Exception):
    """The grading machine, not the student's Dockerfile, kept the check from running: it waits.

    ``lasting`` failures are states the cache key sees (no engine, an image or the wheelhouse
    missing); the others (the engine, the index or the disk failing during a build) are remembered,
    so that the next grading run grades the TP again (:func:`state`).
    """

    def __init__(self, reason: str, lasting: bool = False):
        super().__init__(reason)
        self.lasting = lasting


class _Fault(Exception):
    """A failure of the student's Dockerfile or image, in words."""


@dataclass
class Probe:
    """What the box found of one student's image."""

    built: bool = False
    healthy: bool = False  # /health answered {"status": "ok"}
    predict_ok: bool = False
    non_root: bool = False
    build_s: float = 0.0
    start_s: float = 0.0  # from docker run to a healthy answer
    written_bytes: int = 0  # what the build added to its base images, as last measured
    message: str = ""  # what failed, or that everything passed
    log: str = ""  # the end of the build's output


# --------------------------------------------------------------------------- the machine


def available() -> str | None:
    """None when a Docker engine answers ``docker info`` within a few seconds, else why not, in words."""
    try:
        done = subprocess.run(["docker", "info"], capture_output=True, timeout=INFO_TIMEOUT_S)
    except FileNotFoundError:
        return _("the docker command is not installed on the grading machine")
    except subprocess.TimeoutExpired:
        return _(
            "the grading machine's Docker engine did not answer within {seconds:.0f} s",
            seconds=INFO_TIMEOUT_S,
        )
    return None if done.returncode == 0 else _("no Docker engine is running on the grading machine")


def cache_dir() -> Path:
    """Where the kit keeps what the box needs (never in the course's repository): ``TPDL_DOCKER_CACHE``,
    else ``tpdl/docker`` in the user's cache folder."""
    if os.environ.get("TPDL_DOCKER_CACHE"):
        return Path(os.environ["TPDL_DOCKER_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tpdl" / "docker"


def wheelhouse(assignment: str) -> Path:
    """The package index of ``assignment``'s builds: ``simple/<project>/`` folders of wheels."""
    return cache_dir() / "wheelhouse" / assignment


def builds_images(assignment: str) -> bool:
    """Whether ``assignment``'s students hand in a Dockerfile (its manifest says so)."""
    found = paths.graders(assignment) / manifest.FILE
    return found.is_file() and DOCKERFILE in manifest.read(found).deliverables


def kit_images(assignment: str) -> list[str]:
    """The base images the reference's Dockerfile names: the kit prepares them (the first serves the index)."""
    reference = paths.source(assignment) / DOCKERFILE
    return _images(reference.read_bytes()) if reference.is_file() else []


def state(assignment: str) -> str:
    """What the Docker checks depend on besides the submission, for the cache key: a change regrades."""
    if os.environ.get("TPDL_DOCKER", "auto") == "off":
        return "off"
    reason = available()
    if reason:
        return f"no engine: {reason}"
    found = {image: _image_id(image) for image in kit_images(assignment)}
    index = wheelhouse(assignment) / "wheelhouse.json"
    failures = cache_dir() / "failures"
    return json.dumps({
        "images": found,
        "wheelhouse": hashlib.sha256(index.read_bytes()).hexdigest() if index.is_file() else "absent",
        "failures": failures.read_text() if failures.is_file() else "",
    }, sort_keys=True)  # fmt: skip


def image_name(student: str) -> str:
    """A Docker image name for one student's build, unique per student and per run.

    Docker wants lower-case names of limited characters, so a student id never goes into one as it
    is (``Alice`` and ``alice``, or two ids cut to the same prefix, would share an image): a hash
    of the id, then a random part, so that two runs at once never share one either.
    """
    return f"tpdl-tp1-{hashlib.sha256(student.encode()).hexdigest()[:16]}-{secrets.token_hex(6)}"


# --------------------------------------------------------------------------- the box


def build_and_probe(context: Path, tag: str, limits: Limits | None = None, assignment: str = "tp1") -> Probe:
    """Build ``context`` as ``tag`` in the box, run it, probe it, remove everything; what was found.

    Raises :class:`MachineFailure` when the machine, not the Dockerfile, kept the check from running.
    """
    reason = available()
    if reason:
        raise MachineFailure(reason, lasting=True)
    box = _Box(tag, limits or Limits(), assignment)
    probe = Probe()
    try:
        try:
            dockerfile = _read_dockerfile(Path(context), box.limits)
            box.find_images(dockerfile)
            box.open()
            box.build(Path(context), dockerfile, probe)
            problems = box.serve(probe)
            probe.message = "; ".join(problems) or _(
                "the image builds, answers /health and /predict, and runs as a non-root user"
            )
        except _Fault as fault:
            probe.message = str(fault)
        except subprocess.TimeoutExpired as error:
            raise MachineFailure(_(
                "the grading machine's Docker engine did not answer a command within {seconds:.0f} s",
                seconds=error.timeout,
            )) from None  # fmt: skip
        except FileNotFoundError:
            raise MachineFailure(
                _("the docker command is not installed on the grading machine"), lasting=True
            ) from None
    except MachineFailure as failure:
        if not failure.lasting:
            _remember_failure()
        raise
    finally:
        box.remove()
    return probe


def _read_dockerfile(context: Path, limits: Limits) -> bytes:
    """The student's Dockerfile, once the context is known to be within its bounds."""
    path = context / DOCKERFILE
    if not path.is_file() or path.is_symlink():
        raise _Fault(_("there is no Dockerfile in the submission"))
    size = sum(p.stat().st_size for p in context.rglob("*") if p.is_file() and not p.is_symlink())
    if size > limits.context_bytes:
        raise _Fault(_(
            "the build context holds {size:.0f} MB, more than the {limit:.0f} MB allowed",
            size=size / 1e6, limit=limits.context_bytes / 1e6,
        ))  # fmt: skip
    return path.read_bytes()


def _instructions(text: bytes) -> list[dict]:
    from dockerfile_parse import DockerfileParser

    return DockerfileParser(fileobj=io.BytesIO(text)).structure


def _stages(text: bytes) -> list[tuple[str, str, str]]:
    """Each ``FROM``: the image it names (build arguments' defaults substituted), its stage name, its
    ``--platform``."""
    from dockerfile_parse import DockerfileParser

    parents = DockerfileParser(fileobj=io.BytesIO(text)).parent_images
    found = []
    for parent, instruction in zip(parents, [i for i in _instructions(text) if i["instruction"] == "FROM"]):
        words = instruction["value"].split()
        flags = dict(w[2:].split("=", 1) for w in words if w.startswith("--") and "=" in w)
        plain = [w for w in words if not w.startswith("--")]
        name = plain[2].lower() if len(plain) == 3 and plain[1].lower() == "as" else ""
        found.append((parent, name, flags.get("platform", "")))
    return found


def _images(text: bytes) -> list[str]:
    """Every image the Dockerfile takes from the engine's store (``FROM`` and ``COPY --from``), in order."""
    stages, images = set(), []
    for parent, name, _platform in _stages(text):
        if parent.lower() not in stages and parent != "scratch":
            images.append(parent)
        stages.add(name)
    for instruction in _instructions(text):
        if instruction["instruction"] in ("COPY", "ADD"):
            for word in instruction["value"].split():
                source = word[len("--from=") :] if word.startswith("--from=") else None
                if source and source.lower() not in stages and not source.isdigit():
                    images.append(source)
    return list(dict.fromkeys(images))


def _boxed_dockerfile(text: bytes, label: str) -> bytes:
    """The student's Dockerfile, with the index's address declared and the box's label set in every stage."""
    lines = text.decode("utf-8", "replace").splitlines(keepends=True)
    # ``tpdl.box`` finds what an interrupted run left; ``label``, known to no one else, this build's images.
    added = f"LABEL tpdl.box=1 {label}=1\nARG PIP_INDEX_URL\nARG PIP_TRUSTED_HOST\n"
    for instruction in reversed([i for i in _instructions(text) if i["instruction"] == "FROM"]):
        end = instruction["endline"]
        lines[end] = lines[end].rstrip("\r\n") + "\n"
        lines.insert(end + 1, added)
    return "".join(lines).encode()


class _Box:
    """One build's network, index, containers and images, and their removal."""

    def __init__(self, tag: str, limits: Limits, assignment: str):
        self.tag, self.limits, self.assignment = tag, limits, assignment
        self.network = f"{tag}-net"
        self.bridge = f"tpdl{secrets.token_hex(5)}"  # a Linux interface name: 15 characters at most
        self.label = f"tpdl.box.{secrets.token_hex(8)}"  # every image this build commits carries it
        self.index = f"{tag}-index"
        self.container = f"{tag}-run"
        self.index_url = ""
        self.index_id = ""
        self.base_sizes: dict[str, int] = {}
        self.scratch = Path(tempfile.mkdtemp(prefix="tpdl-docker-"))
        self.opened = False
        self.root = ""  # the engine's data folder, where this machine can see it
        self.lowest_free: int | None = None

    # ---- before the build

    def find_images(self, dockerfile: bytes) -> None:
        """Every image the build needs, in the local store: else the check waits (nothing is pulled)."""
        try:
            stages, images = _stages(dockerfile), _images(dockerfile)
        except Exception as error:  # noqa: BLE001 - dockerfile-parse on text the student wrote
            raise _Fault(_("the Dockerfile could not be read: {error}", error=error)) from None
        if not stages:
            raise _Fault(_("the Dockerfile has no FROM instruction"))
        platforms = {parent: platform for parent, _name, platform in stages if platform}
        for image in images:
            if not image or "$" in image:
                raise _Fault(_(
                    "the Dockerfile names an image through a build argument without a default: {image}",
                    image=image or "''",
                ))  # fmt: skip
            found = self._docker(
                "image", "inspect", "--format", "{{.Id}} {{.Size}} {{.Os}}/{{.Architecture}}", image
            )
            if found.returncode != 0 and "No such image" not in found.stderr:
                raise MachineFailure(
                    _("the grading machine's Docker engine failed: {error}", error=_tail(found.stderr))
                )
            wanted = platforms.get(image, "")
            if found.returncode != 0 or (wanted and found.stdout.split()[2] != wanted):
                raise _absent(f"{image} ({wanted})" if wanted else image)
            identity, size, _platform = found.stdout.split()
            self.base_sizes[identity] = int(size)

    def open(self) -> None:
        """The internal network and, on it, the index serving the TP's wheelhouse."""
        wheels = wheelhouse(self.assignment)
        if not (wheels / "simple" / "index.html").is_file():
            raise MachineFailure(_(
                "the course's package index for {assignment} is not prepared on the grading machine",
                assignment=self.assignment,
            ), lasting=True)  # fmt: skip
        index_image = (kit_images(self.assignment) or [DEFAULT_BASE])[0]
        if _image_id(index_image) == "absent":
            raise _absent(index_image)
        self.root = self._docker("info", "--format", "{{.DockerRootDir}}").stdout.strip()
        self._kit(
            "network", "create", "--internal", "--label", "tpdl.box",
            "--opt", "com.docker.network.bridge.inhibit_ipv4=true",  # no address of the host on the bridge
            "--opt", f"com.docker.network.bridge.name={self.bridge}", self.network,
        )  # fmt: skip
        self.opened = True
        self.index_id = self._kit(
            "run", "--detach", "--name", self.index, "--network", self.network, "--label", "tpdl.box",
            "--read-only", "--user", "65534:65534", "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
            "--memory", "256m", "--memory-swap", "256m", "--pids-limit", "64",
            "--volume", f"{wheels.resolve()}:/srv:ro", index_image,
            "python3", "-m", "http.server", str(INDEX_PORT), "--directory", "/srv",
        ).stdout.strip()  # fmt: skip
        address = self._address(self.index)
        if not address:
            raise MachineFailure(_("the course's package index did not start on the grading machine"))
        self.index_url = f"http://{address}:{INDEX_PORT}/simple/"
        until = time.monotonic() + INDEX_WAIT_S
        while not self._index_answers():
            if time.monotonic() > until:
                raise MachineFailure(_("the course's package index did not answer on the grading machine"))
            time.sleep(0.5)
        free = self._free_bytes()
        if free is not None and free < self.limits.disk_floor_bytes:
            raise MachineFailure(_disk_full(free))

    # ---- the build

    def build(self, context: Path, dockerfile: bytes, probe: Probe) -> None:
        """Build the image within the limits; a failure is the student's only when the machine is sound."""
        boxed = self.scratch / DOCKERFILE
        boxed.write_bytes(_boxed_dockerfile(dockerfile, self.label))
        address = self.index_url.split("/")[2].split(":")[0]
        memory = str(self.limits.memory_bytes)
        command = [
            "docker", "build", "--file", str(boxed), "--tag", self.tag, "--network", self.network,
            "--no-cache", "--rm", "--force-rm", "--memory", memory, "--memory-swap", memory,
            "--cpu-period", str(CPU_PERIOD_US), "--cpu-quota", str(int(self.limits.cpus * CPU_PERIOD_US)),
            "--build-arg", f"PIP_INDEX_URL={self.index_url}", "--build-arg", f"PIP_TRUSTED_HOST={address}",
            str(context),
        ]  # fmt: skip
        started = time.monotonic()
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_environment()
        )
        output, errors = _Lines(process.stdout), _Lines(process.stderr)
        stopped, full = "", None
        try:
            while process.poll() is None and not (stopped or full):
                time.sleep(POLL_S)
                probe.written_bytes = max(probe.written_bytes, self._written())
                free = self._free_bytes()
                if free is not None:
                    self.lowest_free = free if self.lowest_free is None else min(self.lowest_free, free)
                if time.monotonic() - started > self.limits.build_s:
                    stopped = "time"
                elif probe.written_bytes > self.limits.written_bytes:
                    stopped = "disk"
                elif free is not None and free < self.limits.disk_floor_bytes:
                    full = free
        finally:
            if process.poll() is None:
                process.kill()  # the engine stops a classic build whose client goes away
            process.wait()
        output.join(), errors.join()
        probe.build_s = round(time.monotonic() - started, 1)
        probe.log = _tail("\n".join([*output.lines, *errors.lines]))
        if full is not None:
            raise MachineFailure(_disk_full(full))
        if stopped == "time":
            raise _Fault(_("the build did not finish within {seconds:.0f} s; the end of its output:\n{log}",
                           seconds=self.limits.build_s, log=probe.log))  # fmt: skip
        if stopped == "disk":
            raise _Fault(self._too_much(probe.written_bytes, probe.log))
        if process.returncode != 0:
            self._blame_the_machine()
            last = errors.lines[-1] if errors.lines else ""
            if STEP_KILLED.search(last):
                raise _Fault(_(
                    "docker build failed: a step was killed, most likely for using more than the "
                    "{limit:.2f} GiB of memory a step may use:\n{log}",
                    limit=self.limits.memory_bytes / GiB, log=probe.log,
                ))  # fmt: skip
            raise _Fault(_("docker build failed:\n{log}", log=probe.log))
        probe.written_bytes = self._written()
        if probe.written_bytes > self.limits.written_bytes:
            raise _Fault(self._too_much(probe.written_bytes, probe.log))
        probe.built = True

    def _too_much(self, written: int, log: str) -> str:
        return _(
            "the build wrote {size:.2f} GiB, more than the {limit:.2f} GiB allowed; "
            "the end of its output:\n{log}",
            size=written / GiB, limit=self.limits.written_bytes / GiB, log=log,
        )  # fmt: skip

    def _written(self) -> int:
        """What the build has added to its base images: its committed layers and its running step."""
        ids = self._docker(
            "images", "--all", "--quiet", "--no-trunc", "--filter", f"label={self.label}"
        ).stdout.split()
        written = 0
        if ids:
            rows = self._docker("image", "inspect", "--format", "{{.Id}} {{.Parent}} {{.Size}}", *ids).stdout
            sizes = dict(self.base_sizes)
            layers = [row.split() for row in rows.splitlines() if len(row.split()) == 3]
            sizes.update({identity: int(size) for identity, _parent, size in layers})
            written += sum(max(int(size) - sizes.get(parent, 0), 0) for _identity, parent, size in layers)
        steps = set(
            self._docker("ps", "--quiet", "--no-trunc", "--filter", f"network={self.network}").stdout.split()
        )
        steps.discard(self.index_id)
        if steps:
            sizes = self._docker(
                "container", "inspect", "--size", "--format", "{{.SizeRw}}", *steps
            ).stdout.split()
            written += sum(int(size) for size in sizes if size.isdigit())
        return written

    def _blame_the_machine(self) -> None:
        """Raise :class:`MachineFailure` if the machine, not the Dockerfile, can explain a failure."""
        reason = available()
        if reason:
            raise MachineFailure(_("the grading machine's Docker engine stopped answering during the check "
                                   "({reason})", reason=reason))  # fmt: skip
        if not self._index_answers():
            raise MachineFailure(_("the course's package index stopped answering during the check"))
        free = self._free_bytes()
        lowest = min(x for x in (free, self.lowest_free, 2**63) if x is not None)
        if lowest < self.limits.disk_floor_bytes:
            raise MachineFailure(_disk_full(lowest))

    # ---- the container

    def serve(self, probe: Probe) -> list[str]:
        """Run the image on the box's network and ask it from the index container; the problems found."""
        memory = str(self.limits.memory_bytes)
        started = time.monotonic()
        run = self._docker(
            "run", "--detach", "--name", self.container, "--network", self.network, "--label", "tpdl.box",
            "--memory", memory, "--memory-swap", memory, "--cpus", str(self.limits.cpus),
            "--pids-limit", str(self.limits.processes), "--cap-drop", "ALL",
            "--security-opt", "no-new-privileges", self.tag,
        )  # fmt: skip
        if run.returncode != 0:
            self._blame_the_machine()
            return [_("the container did not start:\n{log}", log=_tail(run.stderr))]
        address = self._address(self.container)
        if not address:
            self._blame_the_machine()
            return [_("the container stopped right away; the end of its log:\n{log}", log=self._logs())]
        url = f"http://{address}:{SERVICE_PORT}"

        problems = []
        health_problem = self._wait_healthy(url, HEALTH_WAIT_S)
        if health_problem:
            self._blame_the_machine()
            problems.append(health_problem)
        else:
            probe.healthy = True
            probe.start_s = round(time.monotonic() - started, 1)
            predict_problem = _prediction_problem(*self._ask(f"{url}/predict", BLANK_IMAGE))
            probe.predict_ok = predict_problem is None
            if predict_problem:
                problems.append(predict_problem)

        if self._running():
            # The engine lists the container's processes: no program of the image is asked who runs it.
            top = self._docker("top", self.container, "-o", "pid,uid")
            uids = [row.split()[1] for row in top.stdout.splitlines()[1:] if len(row.split()) == 2]
            probe.non_root = top.returncode == 0 and bool(uids) and all(uid != "0" for uid in uids)
            if not probe.non_root:
                problems.append(
                    _("the service runs as root: create a user and switch to it with USER in the Dockerfile")
                    if "0" in uids
                    else _("could not tell which user runs the service")
                )
        return problems

    def _wait_healthy(self, url: str, wait_s: float) -> str | None:
        """None once ``GET /health`` answers ``{"status": "ok"}`` within ``wait_s``, else what went wrong
        (with the end of the container's log)."""
        until = time.monotonic() + wait_s
        status, answer = 0, None
        while time.monotonic() < until:
            status, answer = self._ask(f"{url}/health")
            if status == 200 and answer == {"status": "ok"}:
                return None
            if not self._running():
                return _("the container stopped before /health answered; the end of its log:\n{log}",
                         log=self._logs())  # fmt: skip
            time.sleep(1)
        if status == 0:
            return _("/health did not answer within {seconds:.0f} s; the end of the container's log:\n{log}",
                     seconds=wait_s, log=self._logs())  # fmt: skip
        return _(
            '/health answered {answer} (HTTP {status}), not {{"status": "ok"}}; '
            "the end of the container's log:\n{log}",
            answer=json.dumps(answer), status=status, log=self._logs(),
        )  # fmt: skip

    def _ask(self, url: str, image: list | None = None) -> tuple[int, object]:
        """HTTP status and JSON answer (None if not JSON) of GET ``url``, or of POSTing ``{"image": image}``,
        asked from the index container; the status is 0 when nothing answered."""
        body = [] if image is None else [json.dumps({"image": image})]
        asked = self._docker("exec", self.index, "python3", "-c", _ASK, url, str(REQUEST_TIMEOUT_S), *body,
                             timeout_s=REQUEST_TIMEOUT_S + COMMAND_TIMEOUT_S)  # fmt: skip
        try:
            reply = json.loads(asked.stdout)
            status, raw = int(reply["status"]), reply["body"]
        except (ValueError, KeyError, TypeError):
            return 0, None
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, None

    def _index_answers(self) -> bool:
        return self._ask(self.index_url)[0] == 200

    def _running(self) -> bool:
        state = self._docker("inspect", "--format", "{{.State.Running}}", self.container)
        return state.stdout.strip() == "true"

    def _logs(self) -> str:
        logs = self._docker("logs", "--tail", str(LOG_LINES), self.container)
        return _tail(logs.stdout + logs.stderr)

    def _address(self, container: str) -> str:
        """The container's address on the box's network ('' if it has none: not running)."""
        address = f'{{{{(index .NetworkSettings.Networks "{self.network}").IPAddress}}}}'
        found = self._docker("inspect", "--format", address, container)
        return found.stdout.strip() if found.returncode == 0 else ""

    def _free_bytes(self) -> int | None:
        """Free space on the engine's disk, where this machine sees its data folder."""
        if not self.root or not os.path.isdir(self.root):
            return None
        info = os.statvfs(self.root)
        return info.f_bavail * info.f_frsize

    # ---- commands and removal

    def _docker(self, *args: str, timeout_s: float = COMMAND_TIMEOUT_S) -> subprocess.CompletedProcess:
        return subprocess.run(["docker", *args], capture_output=True, text=True, errors="replace",
                              timeout=timeout_s, env=_environment())  # fmt: skip

    def _kit(self, *args: str) -> subprocess.CompletedProcess:
        """A command of the kit's own (no student input): its failure is the engine's."""
        done = self._docker(*args)
        if done.returncode != 0:
            raise MachineFailure(
                _("the grading machine's Docker engine failed: {error}", error=_tail(done.stderr))
            )
        return done

    def remove(self) -> None:
        """The containers, the images and the network of this build, whatever state they are in."""
        with contextlib.suppress(subprocess.TimeoutExpired, OSError):
            self._docker(
                "rm", "--force", "--volumes", self.container, self.index, timeout_s=CLEANUP_TIMEOUT_S
            )
            if self.opened:  # a build step's container the engine left on the network
                listed = self._docker("ps", "--all", "--quiet", "--filter", f"network={self.network}",
                                      timeout_s=CLEANUP_TIMEOUT_S).stdout.split()  # fmt: skip
                if listed:
                    self._docker("rm", "--force", "--volumes", *listed, timeout_s=CLEANUP_TIMEOUT_S)
            for _attempt in range(3):  # the newest first; an image removed takes its untagged parents along
                images = self._docker("images", "--all", "--quiet", "--no-trunc", "--filter", f"label={self.label}",
                                      timeout_s=CLEANUP_TIMEOUT_S).stdout.split()  # fmt: skip
                if not images:
                    break
                self._docker("rmi", "--force", *images, timeout_s=CLEANUP_TIMEOUT_S)
            self._docker("rmi", "--force", self.tag, timeout_s=CLEANUP_TIMEOUT_S)
            if self.opened:
                self._remove_network()
        shutil.rmtree(self.scratch, ignore_errors=True)

    def _remove_network(self) -> None:
        for _attempt in range(5):  # the engine may still be releasing a container's endpoint
            removed = self._docker("network", "rm", self.network, timeout_s=CLEANUP_TIMEOUT_S)
            if "active endpoints" not in removed.stderr:
                return
            time.sleep(1)


# What the index container runs to ask the student's service (or the index itself): the answer as JSON.
_ASK = f"""
import json, sys, urllib.error, urllib.request
url, timeout, body = sys.argv[1], float(sys.argv[2]), (sys.argv[3].encode() if len(sys.argv) > 3 else None)
request = urllib.request.Request(url, body, {{"Content-Type": "application/json"}})
try:
    with urllib.request.urlopen(request, timeout=timeout) as answer:
        status, raw = answer.status, answer.read({ANSWER_BYTES})
except urllib.error.HTTPError as error:
    status, raw = error.code, error.read({ANSWER_BYTES})
except Exception:
    status, raw = 0, b""
print(json.dumps({{"status": status, "body": raw.decode("utf-8", "replace")}}))
"""


class _Lines:
    """The last lines a stream wrote, read by a thread of its own (each line cut at ``LINE_BYTES``)."""

    def __init__(self, stream):
        self.lines: deque[str] = deque(maxlen=LOG_LINES * 4)
        self.thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self.thread.start()

    def _read(self, stream) -> None:
        for line in iter(lambda: stream.readline(LINE_BYTES), b""):
            self.lines.append(line.decode("utf-8", "replace").rstrip("\n"))

    def join(self) -> None:
        self.thread.join(timeout=COMMAND_TIMEOUT_S)


def _prediction_problem(status: int, answer: object) -> str | None:
    """None if ``answer`` is a prediction of one image, else what is wrong with it."""
    if status != 200:
        return (_("POST /predict did not answer") if status == 0
                else _("POST /predict answered HTTP {status}", status=status))  # fmt: skip
    if not isinstance(answer, dict):
        return _("POST /predict should answer a JSON object")
    digit, probabilities = answer.get("digit"), answer.get("probabilities")
    if isinstance(digit, bool) or not isinstance(digit, int) or not 0 <= digit <= 9:
        return _("POST /predict should answer a 'digit' from 0 to 9")
    if not isinstance(probabilities, list) or len(probabilities) != 10:
        return _("POST /predict should answer 'probabilities', a list of 10 numbers")
    return None


def _absent(image: str) -> MachineFailure:
    return MachineFailure(_(
        "the image {image} is not in the grading machine's Docker store (the kit never pulls one while "
        "grading: your instructor can load it)", image=image,
    ), lasting=True)  # fmt: skip


def _disk_full(free: int) -> str:
    return _("the disk of the grading machine's Docker engine has only {free:.2f} GiB free", free=free / GiB)


def _image_id(image: str) -> str:
    """The id of ``image`` in the engine's store, or ``absent``."""
    try:
        done = subprocess.run(["docker", "image", "inspect", "--format", "{{.Id}}", image], capture_output=True,
                              text=True, timeout=COMMAND_TIMEOUT_S)  # fmt: skip
    except (subprocess.TimeoutExpired, OSError):
        return "absent"
    return done.stdout.strip() if done.returncode == 0 else "absent"


def _remember_failure() -> None:
    """Mark the engine's state as changed, so that the next run grades again what waited on this failure."""
    with contextlib.suppress(OSError):
        cache_dir().mkdir(parents=True, exist_ok=True)
        _write_atomically(cache_dir() / "failures", secrets.token_hex(8))


def _write_atomically(path: Path, text: str) -> None:
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False, encoding="utf-8") as handle:
        handle.write(text)
    os.replace(handle.name, path)


def _environment() -> dict:
    return {**os.environ, "DOCKER_BUILDKIT": "0"}  # the classic builder: --memory and --network for RUN


def _tail(text: str) -> str:
    """The last lines of a command's output, without terminal colours or the legacy builder's notice."""
    text = LEGACY_BUILDER_NOTICE.sub("", ANSI_ESCAPE.sub("", text))
    return "\n".join(text.strip().splitlines()[-LOG_LINES:])


# --------------------------------------------------------------------------- the wheelhouse


def reference_requirements(assignment: str) -> list[str]:
    """The pinned requirements of the reference's image (``source/<tp>/requirements.txt``)."""
    text = (paths.source(assignment) / "requirements.txt").read_text()
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def prepare_wheelhouse(assignment: str) -> Path:
    """Download the wheels of the reference's requirements for the images' platform, as a PEP 503 index.

    pip reads its usual settings (``PIP_INDEX_URL``, ``PIP_FIND_LINKS``...): offline, point it at a
    folder of wheels made elsewhere. The index replaces the previous one only once complete.
    """
    target = wheelhouse(assignment)
    target.parent.mkdir(parents=True, exist_ok=True)
    requirements = reference_requirements(assignment)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{assignment}-") as scratch:
        wheels, index = Path(scratch) / "wheels", Path(scratch) / "index"
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
             "--only-binary=:all:", *(f"--platform={tag}" for tag in WHEEL_PLATFORMS),
             "--python-version", WHEEL_PYTHON, "--implementation", "cp", "--dest", str(wheels),
             *requirements, *INSTALLERS],
            check=True,
        )  # fmt: skip
        files = _lay_out(wheels, index / "simple")
        (index / "wheelhouse.json").write_text(
            json.dumps({"requirements": requirements, "files": files}, indent=1)
        )
        for path in [index, *index.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)  # read by the index container's unprivileged user
        old = Path(scratch) / "old"
        if target.exists():
            target.rename(old)
        index.rename(target)
    return target


def _lay_out(wheels: Path, simple: Path) -> dict[str, str]:
    """``simple/<project>/`` per project, each with an index page linking its wheels with their sha256."""
    projects: dict[str, dict[str, str]] = {}
    for wheel in sorted(wheels.glob("*.whl")):
        project = re.sub(r"[-_.]+", "-", wheel.name.split("-")[0]).lower()  # PEP 503's normalised name
        (simple / project).mkdir(parents=True, exist_ok=True)
        shutil.move(wheel, simple / project / wheel.name)
        digest = hashlib.sha256((simple / project / wheel.name).read_bytes()).hexdigest()
        projects.setdefault(project, {})[wheel.name] = digest
    for project, found in projects.items():
        links = "".join(f'<a href="{name}#sha256={digest}">{name}</a>\n' for name, digest in found.items())
        (simple / project / "index.html").write_text(
            f"<!DOCTYPE html>\n<html><body>\n{links}</body></html>\n"
        )
    links = "".join(f'<a href="{project}/">{project}</a>\n' for project in sorted(projects))
    (simple / "index.html").write_text(f"<!DOCTYPE html>\n<html><body>\n{links}</body></html>\n")
    return {name: digest for found in projects.values() for name, digest in found.items()}


# --------------------------------------------------------------------------- make docker-check


def main(argv: list[str] | None = None) -> int:
    """``python -m tpdl.docker_engine prepare|check TP``: the wheelhouse; the reference built in the box."""
    parser = argparse.ArgumentParser(prog="python -m tpdl.docker_engine")
    parser.add_argument("action", choices=("prepare", "check"))
    parser.add_argument("assignment")
    parser.add_argument("--model", type=Path, help="check: the model the image serves")
    options = parser.parse_args(argv)
    if options.action == "check" and options.model is None:
        parser.error("check needs --model")
    if options.action == "prepare":
        started = time.monotonic()
        folder = prepare_wheelhouse(options.assignment)
        count = len(json.loads((folder / "wheelhouse.json").read_text())["files"])
        print(f"wheelhouse: {count} wheels in {folder} ({time.monotonic() - started:.0f} s)")
        return 0
    with tempfile.TemporaryDirectory(prefix="tpdl-docker-check-") as context:
        source = paths.source(options.assignment)
        for name in (DOCKERFILE, "app.py", "requirements.txt", ".dockerignore"):
            shutil.copyfile(source / name, Path(context) / name)
        served = next(iter(manifest.load(options.assignment).models or {}), options.model.name)
        shutil.copyfile(options.model, Path(context) / served)  # under the name the Dockerfile copies
        try:
            probe = build_and_probe(Path(context), image_name("docker-check"), assignment=options.assignment)
        except MachineFailure as failure:
            print(f"not run (the machine's problem): {failure}")
            return 2
    print(f"build {probe.build_s} s, wrote {probe.written_bytes / 1e9:.2f} GB; healthy {probe.start_s} s after "
          f"docker run; {probe.message}")  # fmt: skip
    return 0 if probe.built and probe.healthy and probe.predict_ok and probe.non_root else 1


if __name__ == "__main__":
    sys.exit(main())
