"""Build and probe a student's Docker image in a box, where a Docker engine runs.

TP1 ends with the digit classifier served as a Docker image. The judge's sandbox has no Docker, so
the judge asks the machine's engine itself, through the ``docker`` command only (no Docker SDK),
each call under a timeout. A student's build runs in a box (:func:`build_and_probe`):

* **what the engine builds is what the kit read**: the Dockerfile is read with dockerfile-parse and
  refused where Docker could read it otherwise (a character other than printable ones, tabs and
  line ends; an instruction left open by an empty line or by the end of the file) or where it would
  reach outside the box (``ADD`` of a URL, ``ONBUILD``, ``VOLUME``). The engine builds a copy holding
  the instructions as the kit read them, one a line, each ``FROM`` naming the image that the kit
  resolved with the build arguments it passes, and checked;
* **no network** but an internal Docker network of its own (``--internal``, and no address of the
  host on its bridge), where an index container serves the course's wheelhouse: the wheels of the
  TP's pinned requirements (:func:`prepare_wheelhouse`) laid out as a PEP 503 index. pip finds it
  through ``PIP_INDEX_URL`` and ``PIP_TRUSTED_HOST``, declared as ``ARG`` after each ``FROM`` of the
  copy and passed with ``--build-arg``: pip reads them from the environment of every ``RUN`` step,
  and, unlike ``ENV``, they stay out of the image;
* **base images from the engine's local store only**: every image a ``FROM`` or a ``COPY --from``
  names must be there before the build (the classic builder pulls nothing it has). The absence of
  an image the kit prepares for the TP (:func:`kit_images`) is the machine's failure; any other
  absent image, another platform or a reference Docker cannot read is the student's;
* **limits**: memory (no swap) and CPU for each build step and for the container, a time limit on
  the build, a size limit on each file a step writes, what the build may write (its layers and
  running step, measured every second by the engine), what it may take of the engine's disk, in
  bytes and in files (the disk's free space, read every tenth of a second), and a floor of free
  space on that disk; the container runs with a read-only root, a small ``/tmp`` in memory and
  bounded logs;
* **nothing left**: the containers, every image the build committed (each carries a label no one
  else knows), any other image that appeared in the store during the build and is no box's (a
  pull: the instructor's log says so) and the network are removed, whatever happened.

The container is asked ``/health``, then ``/predict`` for digits drawn at grading time
(``tpdl.grading.fresh``), to which it must answer what the model it serves predicts (the digits' labels are
that model's own answers, -1 where it hesitates: :func:`compared`).

A failure of the machine's (no engine, a base image or the wheelhouse missing, the engine, the
index or the disk failing) raises :class:`MachineFailure`: the check waits, neither earned nor lost.
Only a failure of the student's Dockerfile or image is a result, told in words. The machine is
judged by its state once the student's containers and images are gone, never by what the build
printed, which the student controls.
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
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any

from tpdl.core import manifest, paths
from tpdl.core.files import write_atomically
from tpdl.core.i18n import KIT as _

GiB, MiB, KiB = 2**30, 2**20, 2**10
INFO_TIMEOUT_S = 5.0
COMMAND_TIMEOUT_S = 60.0
CLEANUP_TIMEOUT_S = 30.0
CLEANUP_WAIT_S = 120.0  # for the engine to end a build step whose client went away
INDEX_WAIT_S = 20.0
INDEX_IDLE_S = 10  # the index closes a connection idle this long
HEALTH_WAIT_S = 120.0
REQUEST_TIMEOUT_S = 30.0
PREDICT_WAIT_S = 90.0  # for all the digits together
POLL_S = 0.1  # the build's process and the engine's free disk space
MEASURE_S = 1.0  # what the build wrote, as the engine counts it
LOG_LINES = 15
LINE_BYTES = 2**16  # a longer line of the build's output is cut
ANSWER_BYTES = 64 * KiB  # what the probe reads of one HTTP answer
DOCKERFILE_BYTES = 64 * KiB
DOCKERFILE = "Dockerfile"
DEFAULT_BASE = "python:3.11-slim"  # serves the index where a TP's reference names no image
INDEX_PORT = 8080
SERVICE_PORT = 8000
CPU_PERIOD_US = 100_000
BOM = b"\xef\xbb\xbf"  # Docker skips it at the start of a Dockerfile
# The container is asked DIGITS digits drawn at grading time and must answer each as the model it
# serves does (no sampling error: the same model gives the same answers). LEAST_RIGHT is what a
# service gets right of digits labelled with their true class where it answers as a model at the
# course's 97 % does, in 99 % of draws (the binomial law; a service answering one digit or at random
# gets it in fewer than 1e-30 of them): the kit's tests of the box use it.
DIGITS, LEAST_RIGHT = 40, 36
# The wheelhouse is for the images' platform: TP1's base, python:3.11-slim, is CPython 3.11 on
# glibc x86_64. pip takes each manylinux tag it may use only when named: every one up to glibc 2.28.
WHEEL_PLATFORMS = [f"manylinux_2_{minor}_x86_64" for minor in range(28, 16, -1)] + ["manylinux2014_x86_64"]
WHEEL_PYTHON = "3.11"
INSTALLERS = ("pip", "setuptools", "wheel")  # what a Dockerfile may upgrade before installing
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")
LEGACY_BUILDER_NOTICE = re.compile(r"DEPRECATED: The legacy builder.*?environment-variable\.", re.DOTALL)
STEP_KILLED = re.compile(r"returned a non-zero code: 137\s*$")
# An image reference as Docker's grammar writes it: [domain[:port]/]path[:tag][@digest].
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_HOST = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"
REFERENCE = re.compile(
    rf"(?:{_HOST}(?:\.{_HOST})*(?::[0-9]+)?/)?{_COMPONENT}(?:/{_COMPONENT})*"
    r"(?::[\w][\w.-]{0,127})?(?:@sha256:[0-9a-f]{64})?"
)


@dataclass(frozen=True)
class Limits:
    """What one student's build and container may use."""

    memory_bytes: int = 2 * GiB  # each build step, and the container; no swap
    cpus: float = 1.0
    build_s: float = 900.0
    written_bytes: int = 4 * GiB  # what the build may add to its base images
    disk_bytes: int = 10 * GiB  # what the build may take of the engine's disk at once (the reference: 3.5 GB)
    files: int = 500_000  # files and folders the build may create at once (the reference: 52,000)
    file_bytes: int = 2 * GiB  # each file a build step writes (tensorflow-cpu's largest is 1.1 GB)
    context_bytes: int = 512 * MiB  # the folder sent to the engine (the intake's own bound)
    processes: int = 256  # in the container
    tmp_bytes: int = 64 * MiB  # the container's /tmp, in memory; the rest of its files are read-only
    log_bytes: int = 1 * MiB  # each of the container's two log files
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
    predict_ok: bool = False  # /predict answered every digit with a digit and 10 probabilities
    right: int = 0  # digits classified right
    asked: int = 0  # digits asked
    non_root: bool = False
    build_s: float = 0.0
    start_s: float = 0.0  # from docker run to a healthy answer
    written_bytes: int = 0  # what the build added to its base images, as last measured
    message: str = ""  # what failed, or that everything passed
    log: str = ""  # the end of the build's output


@dataclass(frozen=True)
class _Stage:
    """One ``FROM`` as the kit resolved it."""

    image: str  # with the build arguments the kit passes
    name: str  # after AS, lower-case ('' if none)
    platform: str  # its --platform ('' if none)


@dataclass(frozen=True)
class _Answer:
    """One HTTP answer of the student's service."""

    status: int  # 0 when nothing answered
    content: Any = None  # the JSON answer (None if it could not be read)
    whole: bool = True  # False: longer than ANSWER_BYTES
    readable: bool = True  # False: not JSON, or nested too deeply to read


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
    """The base images the reference's Dockerfile names, prepared by the kit (the first serves the index)."""
    reference = paths.source(assignment) / DOCKERFILE
    if not reference.is_file():
        return []
    text = _dockerfile_text(reference.read_bytes())
    instructions = _read(text)
    return list(_images(_stages(text, instructions, {}), instructions))


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
    return json.dumps(
        {
            "images": found,
            "wheelhouse": hashlib.sha256(index.read_bytes()).hexdigest() if index.is_file() else "absent",
            "failures": failures.read_text() if failures.is_file() else "",
        },
        sort_keys=True,
    )


def image_name(student: str) -> str:
    """A Docker image name for one student's build, unique per student and per run.

    Docker wants lower-case names of limited characters, so a student id never goes into one as it
    is (``Alice`` and ``alice``, or two ids cut to the same prefix, would share an image): a hash
    of the id, then a random part, so that two runs at once never share one either.
    """
    return f"tpdl-tp1-{hashlib.sha256(student.encode()).hexdigest()[:16]}-{secrets.token_hex(6)}"


# --------------------------------------------------------------------------- the box


def build_and_probe(
    context: Path,
    tag: str,
    limits: Limits | None = None,
    assignment: str = "tp1",
    *,
    digits,
    events: list[str] | None = None,
) -> Probe:
    """Build ``context`` as ``tag`` in the box, run it, ask it to classify ``digits`` (a
    ``tpdl.grading.fresh.Fresh``), remove everything; what was found. What only the instructor should read
    (an image pulled during the build, say) is added to ``events``.

    Raises :class:`MachineFailure` when the machine, not the Dockerfile, kept the check from running.
    """
    reason = available()
    if reason:
        raise MachineFailure(reason, lasting=True)
    box = _Box(tag, limits or Limits(), assignment, events if events is not None else [])
    probe = Probe()
    try:
        try:
            text = _dockerfile_text(_read_dockerfile(Path(context), box.limits))
            instructions = _read(text)
            _refuse_what_leaves_the_box(instructions)
            box.open()
            stages = box.find_images(text, instructions)
            box.build(Path(context), _boxed_dockerfile(text, instructions, stages, box.label), probe)
            problems = box.serve(probe, digits)
            probe.message = "; ".join(problems) or _(
                "the image builds, answers /health and /predict, and runs as a non-root user"
            )
        except _Fault as fault:
            probe.message = str(fault)
        except subprocess.TimeoutExpired as error:
            raise MachineFailure(
                _(
                    "the grading machine's Docker engine did not answer a command within {seconds:.0f} s",
                    seconds=error.timeout,
                )
            ) from None
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
        raise _Fault(
            _(
                "the build context holds {size:.0f} MB, more than the {limit:.0f} MB allowed",
                size=size / 1e6,
                limit=limits.context_bytes / 1e6,
            )
        )
    if path.stat().st_size > DOCKERFILE_BYTES:
        raise _Fault(
            _(
                "the Dockerfile holds {size:.0f} KB, more than the {limit:.0f} KB allowed",
                size=path.stat().st_size / 1e3,
                limit=DOCKERFILE_BYTES / 1e3,
            )
        )
    return path.read_bytes()


# --------------------------------------------------------------------------- the Dockerfile, as read


def _dockerfile_text(raw: bytes) -> str:
    """The Dockerfile as text that Docker and dockerfile-parse read alike, or what is in the way."""
    try:
        text = raw.removeprefix(BOM).decode("utf-8")
    except UnicodeDecodeError as error:
        raise _Fault(_("the Dockerfile is not UTF-8 text (byte {offset})", offset=error.start)) from None
    # Docker ends a line at "\n" only, and its parser and dockerfile-parse take different characters
    # for blanks: a form feed, a lone carriage return or a no-break space could move an instruction.
    for number, line in enumerate(text.split("\n"), 1):
        odd = next((c for c in line.removesuffix("\r") if not c.isprintable() and c != "\t"), None)
        if odd is not None:
            raise _Fault(
                _(
                    "line {line} of the Dockerfile holds the character U+{code:04X}, which Docker and the "
                    "kit may read differently: remove it",
                    line=number,
                    code=ord(odd),
                )
            )
    return text


def _read(text: str) -> list[dict]:
    """dockerfile-parse's instructions of ``text``, comments left out, where Docker reads the same ones."""
    from dockerfile_parse import DockerfileParser

    # Blank lines after the end: an instruction the last line leaves open ends on one, and is seen.
    parsed = DockerfileParser(fileobj=io.BytesIO(f"{text}\n\n".encode())).structure
    instructions = [i for i in parsed if i["instruction"] != "COMMENT"]
    for instruction in instructions:
        # Docker skips an empty line inside an instruction continued with \ and goes on reading it;
        # dockerfile-parse ends it there. And a file may end in the middle of one.
        if (
            instruction["endline"] > instruction["startline"]
            and not instruction["content"].splitlines()[-1].strip()
        ):
            raise _Fault(
                _(
                    "line {line} of the Dockerfile: the instruction continued with \\ on line {start} runs "
                    "into "
                    "an empty line or the end of the file; finish it, or remove the \\",
                    line=instruction["endline"] + 1,
                    start=instruction["startline"] + 1,
                )
            )
    if not any(i["instruction"] == "FROM" for i in instructions):
        raise _Fault(_("the Dockerfile has no FROM instruction"))
    return instructions


def _flags(value: str) -> tuple[dict[str, str], str]:
    """The ``--name=value`` words an instruction's value starts with, and what follows them."""
    flags, rest = {}, value.strip()
    while rest.startswith("--"):
        word, *after = rest.split(None, 1)
        name, _equals, setting = word[2:].partition("=")
        flags[name.lower()] = setting
        rest = after[0] if after else ""
    return flags, rest


def _sources(value: str) -> list[str]:
    """What an ``ADD`` or ``COPY`` copies: its words but the last, in JSON form or not."""
    rest = _flags(value)[1]
    try:
        words = json.loads(rest)
    except (ValueError, RecursionError):
        words = None
    if not (isinstance(words, list) and all(isinstance(word, str) for word in words)):
        words = rest.split()
    return words[:-1]


def _refuse_what_leaves_the_box(instructions: list[dict]) -> None:
    """A fault for any instruction that would fetch, or write, outside what the kit checks."""
    for instruction in instructions:
        name, line = instruction["instruction"], instruction["startline"] + 1
        if name == "ONBUILD":
            raise _Fault(
                _(
                    "line {line} of the Dockerfile: ONBUILD is not allowed (its instruction would run in "
                    "another build, unchecked): write the instruction itself",
                    line=line,
                )
            )
        if name == "VOLUME":
            raise _Fault(
                _(
                    "line {line} of the Dockerfile: VOLUME is not allowed (a volume is written outside the "
                    "image's limits, and the service keeps no data): remove it",
                    line=line,
                )
            )
        for source in _sources(instruction["value"]) if name == "ADD" else []:
            if "://" in source or source.lower().startswith("git@"):
                raise _Fault(
                    _(
                        "line {line} of the Dockerfile: ADD {source} would download it, and the build has no "
                        "network: put the file in your folder and COPY it",
                        line=line,
                        source=source,
                    )
                )
            if "$" in source:
                raise _Fault(
                    _(
                        "line {line} of the Dockerfile: ADD {source} names its source through a variable: "
                        "name the file of your folder itself",
                        line=line,
                        source=source,
                    )
                )


def _stages(text: str, instructions: list[dict], build_args: dict[str, str]) -> list[_Stage]:
    """Each ``FROM``: the image it names, resolved as Docker resolves it with ``build_args``."""
    from dockerfile_parse import DockerfileParser

    froms = [i for i in instructions if i["instruction"] == "FROM"]
    parents = DockerfileParser(fileobj=io.BytesIO(text.encode()), build_args=build_args).parent_images
    stages: list[_Stage] = []
    for instruction in froms:
        flags, rest = _flags(instruction["value"])
        words = rest.split()
        if (
            len(words) not in (1, 3)
            or (len(words) == 3 and words[1].lower() != "as")
            or len(parents) != len(froms)
        ):
            raise _Fault(
                _(
                    "line {line} of the Dockerfile: FROM should name an image, then AS and a stage's name if "
                    "it has one",
                    line=instruction["startline"] + 1,
                )
            )
        name = words[2].lower() if len(words) == 3 else ""
        stages.append(_Stage(parents[len(stages)], name, flags.get("platform", "")))
    return stages


def _images(stages: list[_Stage], instructions: list[dict]) -> dict[str, int]:
    """Every image the Dockerfile takes from the engine's store (``FROM`` and ``COPY --from``), in order,
    with the line that first names it.

    A stage's name or number refers to a stage only once that stage is over, as in Docker.
    """
    images: dict[str, int] = {}
    done: list[str] = []  # the stages over, by name
    current = None
    froms = iter(stages)
    for instruction in instructions:
        line = instruction["startline"] + 1
        if instruction["instruction"] == "FROM":
            if current is not None:
                done.append(current.name)
            current = next(froms)
            if current.image.lower() not in done and current.image != "scratch":
                images.setdefault(current.image, line)
        elif instruction["instruction"] in ("COPY", "ADD"):
            source = _flags(instruction["value"])[0].get("from")
            if source is None or source.lower() in done or (source.isdigit() and int(source) < len(done)):
                continue
            images.setdefault(source, line)
    return images


def _boxed_dockerfile(text: str, instructions: list[dict], stages: list[_Stage], label: str) -> bytes:
    """What the engine builds: the instructions as the kit read them, one a line, each ``FROM`` naming
    the image the kit resolved and checked, followed by the box's label and the index's arguments."""
    # ``tpdl.box`` finds what an interrupted run left; ``label``, known to no one else, this build's images.
    added = [f"LABEL tpdl.box=1 {label}=1", "ARG PIP_INDEX_URL", "ARG PIP_TRUSTED_HOST"]
    lines = text.split("\n")[: instructions[0]["startline"]]  # comments and parser directives, kept
    froms = iter(stages)
    for instruction in instructions:
        if instruction["instruction"] == "FROM":
            stage = next(froms)
            lines += [f"FROM {stage.image}" + (f" AS {stage.name}" if stage.name else ""), *added]
        else:
            lines.append(f"{instruction['instruction']} {instruction['value']}")
    return ("\n".join(lines) + "\n").encode()


def _canonical(image: str) -> str:
    """``image`` as Docker names it in full (``python`` is ``docker.io/library/python:latest``)."""
    name, at, digest = image.partition("@")
    first, slash, _rest = name.partition("/")
    if not slash:
        name = f"docker.io/library/{name}"
    elif "." not in first and ":" not in first and first != "localhost":
        name = f"docker.io/{name}"
    if ":" not in name.rsplit("/", 1)[-1] and not at:
        name += ":latest"
    return f"{name}{at}{digest}"


# --------------------------------------------------------------------------- the box


class _Box:
    """One build's network, index, containers and images, and their removal."""

    def __init__(self, tag: str, limits: Limits, assignment: str, events: list[str]):
        self.tag, self.limits, self.assignment, self.events = tag, limits, assignment, events
        self.network = f"{tag}-net"
        self.bridge = f"tpdl{secrets.token_hex(5)}"  # a Linux interface name: 15 characters at most
        self.label = f"tpdl.box.{secrets.token_hex(8)}"  # every image this build commits carries it
        self.index = f"{tag}-index"
        self.container = f"{tag}-run"
        self.index_url = ""
        self.index_id = ""
        self.base = (kit_images(assignment) or [DEFAULT_BASE])[0]
        self.base_sizes: dict[str, int] = {}
        self.images_before: set[str] | None = None  # the store's images when the build started
        self.scratch = Path(tempfile.mkdtemp(prefix="tpdl-docker-"))
        self.opened = False
        self.root = ""  # the engine's data folder, where this machine can see it

    @property
    def build_args(self) -> dict[str, str]:
        """What the kit passes with --build-arg."""
        return {
            "PIP_INDEX_URL": self.index_url,
            "PIP_TRUSTED_HOST": self.index_url.split("/")[2].split(":")[0],
        }

    # ---- before the build

    def open(self) -> None:
        """The internal network and, on it, the index serving the TP's wheelhouse."""
        wheels = wheelhouse(self.assignment)
        if not (wheels / "simple" / "index.html").is_file():
            raise MachineFailure(
                _(
                    "the course's package index for {assignment} is not prepared on the grading machine",
                    assignment=self.assignment,
                ),
                lasting=True,
            )
        if _image_id(self.base) == "absent":
            raise _absent(self.base)
        self.root = self._docker("info", "--format", "{{.DockerRootDir}}").stdout.strip()
        free = self._free()
        if free and free[0] < self.limits.disk_floor_bytes:
            raise MachineFailure(_disk_full(free[0]))
        self._kit(
            "network",
            "create",
            "--internal",
            "--label",
            "tpdl.box",
            "--opt",
            "com.docker.network.bridge.inhibit_ipv4=true",  # no address of the host on the bridge
            "--opt",
            f"com.docker.network.bridge.name={self.bridge}",
            self.network,
        )
        self.opened = True
        self.index_id = self._kit(
            "run",
            "--detach",
            "--name",
            self.index,
            "--network",
            self.network,
            "--label",
            "tpdl.box",
            "--read-only",
            "--user",
            "65534:65534",
            "--cap-drop",
            "ALL",
            "--security-opt",
            "no-new-privileges",
            "--memory",
            "256m",
            "--memory-swap",
            "256m",
            "--pids-limit",
            "512",
            "--log-driver",
            "json-file",
            "--log-opt",
            "max-size=1m",
            "--log-opt",
            "max-file=1",
            "--volume",
            f"{wheels.resolve()}:/srv:ro",
            self.base,
            "python3",
            "-c",
            _INDEX,
        ).stdout.strip()
        address = self._address(self.index)
        if not address:
            raise MachineFailure(_("the course's package index did not start on the grading machine"))
        self.index_url = f"http://{address}:{INDEX_PORT}/simple/"
        if not self._index_answers():
            raise MachineFailure(_("the course's package index did not answer on the grading machine"))

    def find_images(self, text: str, instructions: list[dict]) -> list[_Stage]:
        """The stages, resolved with the kit's build arguments; each image they take must be in the store.

        Only the absence of one the kit prepares for the TP is the machine's; nothing is ever pulled.
        """
        stages = _stages(text, instructions, self.build_args)
        platforms = {stage.image: stage.platform for stage in stages if stage.platform}
        kit = {_canonical(image) for image in kit_images(self.assignment)} | {_canonical(self.base)}
        for image, line in _images(stages, instructions).items():
            if "$" in image:
                raise _Fault(
                    _(
                        "line {line} of the Dockerfile names an image through a variable the kit cannot "
                        "resolve "
                        "({image}): name the image itself, {base}, as the notebook says",
                        line=line,
                        image=image,
                        base=self.base,
                    )
                )
            if not REFERENCE.fullmatch(image):
                raise _Fault(
                    _(
                        "line {line} of the Dockerfile names an image the kit reads as {image}, which is not "
                        "an "
                        "image reference Docker can read (the kit resolves no ${{VARIABLE:-default}}): start "
                        "FROM "
                        "{base}, as the notebook says",
                        line=line,
                        image=image,
                        base=self.base,
                    )
                )
            found = self._docker("image", "inspect", "--", image)
            if found.returncode != 0:
                reason = available()
                if reason:
                    raise MachineFailure(
                        _(
                            "the grading machine's Docker engine stopped answering during the check "
                            "({reason})",
                            reason=reason,
                        )
                    )
                if _canonical(image) in kit:
                    raise _absent(image)
                raise _Fault(
                    _(
                        "line {line} of the Dockerfile names the image {image}, which is not in the grading "
                        "machine's Docker store, and the build has no network to pull it: start FROM {base}, "
                        "as "
                        "the notebook says",
                        line=line,
                        image=image,
                        base=self.base,
                    )
                )
            self._accept(image, json.loads(found.stdout)[0], platforms.get(image, ""))
        return stages

    def _accept(self, image: str, found: dict, platform: str) -> None:
        """Take ``image`` (its ``docker image inspect``) as a base, or say why not."""
        actual = f"{found['Os']}/{found['Architecture']}"
        if platform and platform != actual:
            raise _Fault(
                _(
                    "FROM --platform={platform} asks for a platform the grading machine does not build for "
                    "({actual}): leave --platform out and start FROM {base}, as the notebook says",
                    platform=platform,
                    actual=actual,
                    base=self.base,
                )
            )
        config = found.get("Config") or {}
        if config.get("OnBuild") or config.get("Volumes"):
            raise _Fault(
                _(
                    "the image {image} runs ONBUILD instructions or declares volumes, which the box does not "
                    "allow: start FROM {base}, as the notebook says",
                    image=image,
                    base=self.base,
                )
            )
        self.base_sizes[found["Id"]] = int(found["Size"])

    # ---- the build

    def build(self, context: Path, dockerfile: bytes, probe: Probe) -> None:
        """Build the image within the limits; a failure is the student's only when the machine is sound."""
        boxed = self.scratch / DOCKERFILE
        boxed.write_bytes(dockerfile)
        memory = str(self.limits.memory_bytes)
        command = [
            "docker",
            "build",
            "--file",
            str(boxed),
            "--tag",
            self.tag,
            "--network",
            self.network,
            "--no-cache",
            "--rm",
            "--force-rm",
            "--memory",
            memory,
            "--memory-swap",
            memory,
            "--cpu-period",
            str(CPU_PERIOD_US),
            "--cpu-quota",
            str(int(self.limits.cpus * CPU_PERIOD_US)),
            "--ulimit",
            f"fsize={self.limits.file_bytes}",
            *(word for name, value in self.build_args.items() for word in ("--build-arg", f"{name}={value}")),
            str(context),
        ]
        self.images_before = set(self._kit("images", "--all", "--quiet", "--no-trunc").stdout.split())
        before = self._free()
        started = measured = time.monotonic()
        process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_environment()
        )
        assert process.stdout is not None and process.stderr is not None  # both piped above
        output, errors = _Lines(process.stdout), _Lines(process.stderr)
        stopped, at_stop = "", None
        try:
            while process.poll() is None and not stopped:
                time.sleep(POLL_S)
                now = self._free()
                if time.monotonic() - started > self.limits.build_s:
                    stopped = "time"
                elif before and now and self._overdrawn(before, now):
                    stopped, at_stop = "disk", now
                elif time.monotonic() - measured >= MEASURE_S:
                    try:
                        probe.written_bytes = max(probe.written_bytes, self._written())
                    except subprocess.TimeoutExpired:
                        stopped = "unmeasured"
                    measured = time.monotonic()
                    if probe.written_bytes > self.limits.written_bytes:
                        stopped = "written"
        finally:
            # Stopped: its steps are removed until the engine ends the build and tells the client, so that
            # the engine commits nothing after (it would, were only the client to go away).
            until = time.monotonic() + CLEANUP_WAIT_S
            while process.poll() is None and time.monotonic() < until:
                steps = self._steps()
                if steps:
                    self._docker("rm", "--force", "--volumes", *steps, timeout_s=CLEANUP_TIMEOUT_S)
                time.sleep(POLL_S)
            if process.poll() is None:
                process.kill()
            process.wait()
        output.join()
        errors.join()
        probe.build_s = round(time.monotonic() - started, 1)
        probe.log = _tail("\n".join([*output.lines, *errors.lines]))
        if stopped == "disk":
            self._charge_the_disk(probe, at_stop)
        if stopped == "time":
            raise _Fault(
                _(
                    "the build did not finish within {seconds:.0f} s; the end of its output:\n{log}",
                    seconds=self.limits.build_s,
                    log=probe.log,
                )
            )
        if stopped == "written":
            raise _Fault(self._too_much(probe.written_bytes, probe.log))
        if stopped == "unmeasured":
            self._blame_the_machine()
            raise _Fault(
                _(
                    "the build wrote so many files that the engine could not count them within {seconds:.0f} "
                    "s; "
                    "the end of its output:\n{log}",
                    seconds=COMMAND_TIMEOUT_S,
                    log=probe.log,
                )
            )
        if process.returncode != 0:
            self._blame_the_machine()
            last = errors.lines[-1] if errors.lines else ""
            if STEP_KILLED.search(last):
                raise _Fault(
                    _(
                        "docker build failed: a step was killed, most likely for using more than the "
                        "{limit:.2f} GiB of memory a step may use:\n{log}",
                        limit=self.limits.memory_bytes / GiB,
                        log=probe.log,
                    )
                )
            raise _Fault(_("docker build failed:\n{log}", log=probe.log))
        probe.written_bytes = self._written()
        if probe.written_bytes > self.limits.written_bytes:
            raise _Fault(self._too_much(probe.written_bytes, probe.log))
        probe.built = True

    def _overdrawn(self, before: tuple[int, int], now: tuple[int, int]) -> bool:
        """Whether the engine's disk fell below its floor, or lost more than a build may take since
        ``before``."""
        return (
            now[0] < self.limits.disk_floor_bytes
            or before[0] - now[0] > self.limits.disk_bytes
            or before[1] - now[1] > self.limits.files
        )

    def _charge_the_disk(self, probe: Probe, at_stop: tuple[int, int] | None) -> None:
        """The engine's disk ran low during the build: whose doing was it? Removing the build tells."""
        with contextlib.suppress(subprocess.TimeoutExpired):  # decided on what the disk holds after
            self._discard()
        now = self._free()
        held_bytes, held_files = (now[0] - at_stop[0], now[1] - at_stop[1]) if now and at_stop else (0, 0)
        if probe.written_bytes > self.limits.written_bytes:
            raise _Fault(self._too_much(probe.written_bytes, probe.log))
        if held_bytes > self.limits.disk_bytes:
            raise _Fault(
                _(
                    "the build took {size:.2f} GiB of the engine's disk at once, more than the {limit:.2f} "
                    "GiB "
                    "allowed; the end of its output:\n{log}",
                    size=held_bytes / GiB,
                    limit=self.limits.disk_bytes / GiB,
                    log=probe.log,
                )
            )
        if held_files > self.limits.files:
            raise _Fault(
                _(
                    "the build created {count:,} files, more than the {limit:,} allowed; the end of its "
                    "output:\n{log}",
                    count=held_files,
                    limit=self.limits.files,
                    log=probe.log,
                )
            )
        raise MachineFailure(
            _(
                "the disk of the grading machine's Docker engine filled up during the build, not by it "
                "({free:.2f} GiB free)",
                free=(now[0] if now else 0) / GiB,
            )
        )

    def _too_much(self, written: int, log: str) -> str:
        return _(
            "the build wrote {size:.2f} GiB, more than the {limit:.2f} GiB allowed; "
            "the end of its output:\n{log}",
            size=written / GiB,
            limit=self.limits.written_bytes / GiB,
            log=log,
        )

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
        steps = self._steps()
        if steps:
            sizes = self._docker(
                "container", "inspect", "--size", "--format", "{{.SizeRw}}", *steps
            ).stdout.split()
            written += sum(int(size) for size in sizes if size.isdigit())
        return written

    def _steps(self) -> list[str]:
        """The build's step containers running now (every container on the network but the index)."""
        listed = self._docker("ps", "--all", "--quiet", "--no-trunc", "--filter", f"network={self.network}")
        return [found for found in listed.stdout.split() if found != self.index_id]

    def _new_images(self) -> list[tuple[str, dict, list]]:
        """The images in the store that were not when the build started: (id, labels, names)."""
        if self.images_before is None:
            return []
        now = set(self._docker("images", "--all", "--quiet", "--no-trunc").stdout.split())
        new = sorted(now - self.images_before)
        if not new:
            return []
        found = self._docker("image", "inspect", "--", *new)
        with contextlib.suppress(ValueError):
            return [
                (
                    (image.get("Id") or ""),
                    (image.get("Config") or {}).get("Labels") or {},
                    [*(image.get("RepoTags") or []), *(image.get("RepoDigests") or [])],
                )
                for image in json.loads(found.stdout or "[]")
            ]
        return []

    def _blame_the_machine(self) -> None:
        """Raise :class:`MachineFailure` if the machine, not the Dockerfile, can explain a failure.

        Asked once the build's containers and images are gone: nothing of the student's weighs on it.
        """
        with contextlib.suppress(subprocess.TimeoutExpired):  # decided on the state the machine is left in
            self._discard()
        reason = available()
        if reason:
            raise MachineFailure(
                _(
                    "the grading machine's Docker engine stopped answering during the check ({reason})",
                    reason=reason,
                )
            )
        if not self._index_answers():
            raise MachineFailure(_("the course's package index stopped answering during the check"))
        free = self._free()
        if free and free[0] < self.limits.disk_floor_bytes:
            raise MachineFailure(_disk_full(free[0]))

    # ---- the container

    def serve(self, probe: Probe, digits) -> list[str]:
        """Run the image on the box's network and ask it from the index container; the problems found."""
        memory = str(self.limits.memory_bytes)
        started = time.monotonic()
        run = self._docker(
            "run",
            "--detach",
            "--name",
            self.container,
            "--network",
            self.network,
            "--label",
            "tpdl.box",
            "--memory",
            memory,
            "--memory-swap",
            memory,
            "--cpus",
            str(self.limits.cpus),
            "--pids-limit",
            str(self.limits.processes),
            "--cap-drop",
            "ALL",
            "--security-opt",
            "no-new-privileges",
            "--read-only",
            "--tmpfs",
            f"/tmp:rw,nosuid,nodev,size={self.limits.tmp_bytes}",
            "--log-driver",
            "json-file",
            "--log-opt",
            f"max-size={self.limits.log_bytes}",
            "--log-opt",
            "max-file=2",
            self.tag,
        )
        if run.returncode != 0:
            self._blame_the_machine()
            return [_("the container did not start:\n{log}", log=_tail(run.stderr))]
        address = self._address(self.container)
        if not address:
            logs = self._logs()
            self._blame_the_machine()
            return [_("the container stopped right away; the end of its log:\n{log}", log=logs)]
        url = f"http://{address}:{SERVICE_PORT}"

        problems = []
        health_problem = self._wait_healthy(url, HEALTH_WAIT_S)
        if health_problem:
            problems.append(health_problem)
        else:
            probe.healthy = True
            probe.start_s = round(time.monotonic() - started, 1)
            problems += self._classify(url, digits, probe)

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
        if health_problem or not probe.predict_ok:
            self._blame_the_machine()
        return problems

    def _classify(self, url: str, digits, probe: Probe) -> list[str]:
        """Ask ``/predict`` for each digit; the problems of its answers (how many were right is counted)."""
        bodies = [{"image": image.tolist()} for image in digits.images]
        answers = self._ask(f"{url}/predict", bodies, PREDICT_WAIT_S)
        probe.asked = len(bodies)
        problem = next(filter(None, map(_prediction_problem, answers)), None)
        probe.predict_ok = problem is None
        probe.right = sum(
            answer.content["digit"] == int(label)
            for answer, label in zip(answers, digits.labels)
            if _prediction_problem(answer) is None
        )
        return [problem] if problem else []

    def _wait_healthy(self, url: str, wait_s: float) -> str | None:
        """None once ``GET /health`` answers ``{"status": "ok"}`` within ``wait_s``, else what went wrong
        (with the end of the container's log)."""
        until = time.monotonic() + wait_s
        answer = _Answer(0)
        while time.monotonic() < until:
            (answer,) = self._ask(f"{url}/health")
            if answer.status == 200 and answer.content == {"status": "ok"}:
                return None
            if not self._running():
                return _(
                    "the container stopped before /health answered; the end of its log:\n{log}",
                    log=self._logs(),
                )
            time.sleep(1)
        if answer.status == 0:
            return _(
                "/health did not answer within {seconds:.0f} s; the end of the container's log:\n{log}",
                seconds=wait_s,
                log=self._logs(),
            )
        if not (answer.whole and answer.readable):
            return _(
                "/health answered something that is not short JSON (HTTP {status}); "
                "the end of the container's log:\n{log}",
                status=answer.status,
                log=self._logs(),
            )
        return _(
            '/health answered {answer} (HTTP {status}), not {{"status": "ok"}}; '
            "the end of the container's log:\n{log}",
            answer=json.dumps(answer.content)[:200],
            status=answer.status,
            log=self._logs(),
        )

    def _ask(self, url: str, bodies: list | None = None, wait_s: float = REQUEST_TIMEOUT_S) -> list[_Answer]:
        """The answers to GET ``url`` (``bodies`` None) or to POSTing each of ``bodies`` as JSON, asked
        from the index container within ``wait_s`` in all."""
        asked = self._docker(
            "exec",
            "--interactive",
            self.index,
            "python3",
            "-c",
            _ASK,
            url,
            str(REQUEST_TIMEOUT_S),
            str(wait_s),
            input=json.dumps(bodies),
            timeout_s=wait_s + COMMAND_TIMEOUT_S,
        )
        try:
            replies = json.loads(asked.stdout)
            answers = [(int(reply["status"]), reply["body"], bool(reply["whole"])) for reply in replies]
        except (ValueError, KeyError, TypeError):
            answers = []
        count = 1 if bodies is None else len(bodies)
        answers += [(0, "", True)] * (count - len(answers))
        return [_answer(status, body, whole) for status, body, whole in answers[:count]]

    def _index_answers(self) -> bool:
        """Whether the index answers within ``INDEX_WAIT_S`` (it closes connections left idle)."""
        until = time.monotonic() + INDEX_WAIT_S
        while self._ask(self.index_url)[0].status != 200:
            if time.monotonic() > until:
                return False
            time.sleep(0.5)
        return True

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

    def _free(self) -> tuple[int, int] | None:
        """Free bytes and free inodes of the engine's disk, where this machine sees its data folder."""
        if not self.root or not os.path.isdir(self.root):
            return None
        info = os.statvfs(self.root)
        return info.f_bavail * info.f_frsize, info.f_favail

    # ---- commands and removal

    def _docker(
        self, *args: str, timeout_s: float = COMMAND_TIMEOUT_S, input: str | None = None
    ) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["docker", *args],
            capture_output=True,
            text=True,
            errors="replace",
            input=input,
            timeout=timeout_s,
            env=_environment(),
        )

    def _kit(self, *args: str) -> subprocess.CompletedProcess:
        """A command of the kit's own (no student input): its failure is the engine's."""
        done = self._docker(*args)
        if done.returncode != 0:
            raise MachineFailure(
                _("the grading machine's Docker engine failed: {error}", error=_tail(done.stderr))
            )
        return done

    def _discard(self) -> None:
        """The student's containers and images, and any image no box made that appeared since the build
        started (a pull), removed: the index and the network stay."""
        # The engine may still be ending a build step and committing it: until twice in a row there is
        # nothing of the build's left, newest image first (an image removed takes its untagged parents).
        until, quiet = time.monotonic() + CLEANUP_WAIT_S, 0
        while quiet < 2 and time.monotonic() < until:
            containers = [self.container, *(self._steps() if self.opened else [])]
            self._docker("rm", "--force", "--volumes", *containers, timeout_s=CLEANUP_TIMEOUT_S)
            images = self._docker(
                "images",
                "--all",
                "--quiet",
                "--no-trunc",
                "--filter",
                f"label={self.label}",
                timeout_s=CLEANUP_TIMEOUT_S,
            ).stdout.split()
            if images:
                self._docker("rmi", "--force", *images, timeout_s=CLEANUP_TIMEOUT_S)
            left = self._docker(
                "container", "inspect", "--format", "{{.Id}}", *containers, timeout_s=CLEANUP_TIMEOUT_S
            ).stdout.strip()
            quiet = 0 if images or left or len(containers) > 1 else quiet + 1
            time.sleep(POLL_S)
        self._docker("rmi", "--force", self.tag, timeout_s=CLEANUP_TIMEOUT_S)
        for identity, labels, names in self._new_images():
            if labels.get("tpdl.box") == "1":
                continue  # another box's, building now
            self._docker("rmi", "--force", identity, timeout_s=CLEANUP_TIMEOUT_S)
            self.events.append(
                f"docker: image {identity} {names} appeared in the engine's store during {self.tag}'s build "
                f"and is no box's{' (it was pulled)' if names else ''}: removed"
            )

    def remove(self) -> None:
        """The containers, the images and the network of this build, whatever state they are in."""
        with contextlib.suppress(subprocess.TimeoutExpired, OSError):
            self._discard()
            self._docker("rm", "--force", "--volumes", self.index, timeout_s=CLEANUP_TIMEOUT_S)
            if self.opened:
                self._remove_network()
        shutil.rmtree(self.scratch, ignore_errors=True)

    def _remove_network(self) -> None:
        for _attempt in range(5):  # the engine may still be releasing a container's endpoint
            removed = self._docker("network", "rm", self.network, timeout_s=CLEANUP_TIMEOUT_S)
            if "active endpoints" not in removed.stderr:
                return
            time.sleep(1)


# What the index container runs: the wheelhouse over HTTP, each connection closed once idle a while.
_INDEX = f"""
import functools, http.server
class Handler(http.server.SimpleHTTPRequestHandler):
    timeout = {INDEX_IDLE_S}
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer.request_queue_size = 128
handler = functools.partial(Handler, directory="/srv")
http.server.ThreadingHTTPServer(("", {INDEX_PORT}), handler).serve_forever()
"""

# What the index container runs to ask the student's service (or the index itself): a JSON list of
# the answers, each cut at ANSWER_BYTES, all of them within the time given.
_ASK = f"""
import json, signal, sys, time, urllib.error, urllib.request
url, timeout, until = sys.argv[1], float(sys.argv[2]), time.monotonic() + float(sys.argv[3])
bodies = json.load(sys.stdin)
def give_up(*args):
    raise TimeoutError
def ask(body):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data, {{"Content-Type": "application/json"}})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status, answer.read({ANSWER_BYTES} + 1)
    except urllib.error.HTTPError as error:
        return error.code, error.read({ANSWER_BYTES} + 1)
signal.signal(signal.SIGALRM, give_up)
replies = []
for body in [None] if bodies is None else bodies:
    left = until - time.monotonic()
    if left <= 0:
        break
    signal.setitimer(signal.ITIMER_REAL, min(left, timeout))
    try:
        status, raw = ask(body)
    except BaseException:
        status, raw = 0, b""
    signal.setitimer(signal.ITIMER_REAL, 0)
    body = raw[:{ANSWER_BYTES}].decode("utf-8", "replace")
    replies.append({{"status": status, "body": body, "whole": len(raw) <= {ANSWER_BYTES}}})
print(json.dumps(replies))
"""


class _Lines:
    """The last lines a stream wrote, read by a thread of its own (each line cut at ``LINE_BYTES``)."""

    def __init__(self, stream: IO[bytes]):
        self.lines: deque[str] = deque(maxlen=LOG_LINES * 4)
        self.thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self.thread.start()

    def _read(self, stream) -> None:
        for line in iter(lambda: stream.readline(LINE_BYTES), b""):
            self.lines.append(line.decode("utf-8", "replace").rstrip("\n"))

    def join(self) -> None:
        self.thread.join(timeout=COMMAND_TIMEOUT_S)


def _answer(status: int, body: str, whole: bool) -> _Answer:
    """One answer, read as JSON where it can be (a deep nesting or a long answer is the service's fault)."""
    if not whole:
        return _Answer(status, whole=False)
    try:
        return _Answer(status, json.loads(body))
    except (ValueError, RecursionError):
        return _Answer(status, readable=False)


def _prediction_problem(answer: _Answer) -> str | None:
    """None if ``answer`` is a prediction of one image, else what is wrong with it."""
    if answer.status != 200:
        return (
            _("POST /predict did not answer")
            if answer.status == 0
            else _("POST /predict answered HTTP {status}", status=answer.status)
        )
    if not answer.whole:
        return _("POST /predict answered more than {size} KiB", size=ANSWER_BYTES // KiB)
    if not answer.readable:
        return _("POST /predict answered something that is not JSON, or JSON nested too deeply to read")
    content = answer.content
    if not isinstance(content, dict):
        return _("POST /predict should answer a JSON object")
    digit, probabilities = content.get("digit"), content.get("probabilities")
    if isinstance(digit, bool) or not isinstance(digit, int) or not 0 <= digit <= 9:
        return _("POST /predict should answer a 'digit' from 0 to 9")
    if not (
        isinstance(probabilities, list)
        and len(probabilities) == 10
        and all(isinstance(p, (int, float)) and not isinstance(p, bool) for p in probabilities)
    ):
        return _("POST /predict should answer 'probabilities', a list of 10 numbers")
    return None


def _absent(image: str) -> MachineFailure:
    return MachineFailure(
        _(
            "the image {image} is not in the grading machine's Docker store (the kit never pulls one while "
            "grading: your instructor can load it)",
            image=image,
        ),
        lasting=True,
    )


def _disk_full(free: int) -> str:
    return _("the disk of the grading machine's Docker engine has only {free:.2f} GiB free", free=free / GiB)


def _image_id(image: str) -> str:
    """The id of ``image`` in the engine's store, or ``absent``."""
    try:
        done = subprocess.run(
            ["docker", "image", "inspect", "--format", "{{.Id}}", "--", image],
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT_S,
        )
    except (subprocess.TimeoutExpired, OSError):
        return "absent"
    return done.stdout.strip() if done.returncode == 0 else "absent"


def _remember_failure() -> None:
    """Mark the engine's state as changed, so that the next run grades again what waited on this failure."""
    with contextlib.suppress(OSError):
        cache_dir().mkdir(parents=True, exist_ok=True)
        write_atomically(cache_dir() / "failures", secrets.token_hex(8))


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
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--disable-pip-version-check",
                "--only-binary=:all:",
                *(f"--platform={tag}" for tag in WHEEL_PLATFORMS),
                "--python-version",
                WHEEL_PYTHON,
                "--implementation",
                "cp",
                "--dest",
                str(wheels),
                *requirements,
                *INSTALLERS,
            ],
            check=True,
        )
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
    """``python -m tpdl.grading.docker_engine prepare|check TP``: the wheelhouse; the reference built."""
    parser = argparse.ArgumentParser(prog="python -m tpdl.grading.docker_engine")
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
    import keras

    from tpdl.course import data
    from tpdl.grading import fresh

    with tempfile.TemporaryDirectory(prefix="tpdl-docker-check-") as context:
        source = paths.source(options.assignment)
        for name in (DOCKERFILE, "app.py", "requirements.txt", ".dockerignore"):
            shutil.copyfile(source / name, Path(context) / name)
        served = next(iter(manifest.load(options.assignment).models or {}), options.model.name)
        shutil.copyfile(options.model, Path(context) / served)  # under the name the Dockerfile copies
        digits = fresh.mnist_digits(data.load_at_hand("mnist"), count=DIGITS)
        own = keras.saving.load_model(options.model).predict(digits.images.reshape(DIGITS, -1) / 255.0)
        digits = replace(digits, labels=fresh.own_answers(own))
        try:
            probe = build_and_probe(
                Path(context), image_name("docker-check"), assignment=options.assignment, digits=digits
            )
        except MachineFailure as failure:
            print(f"not run (the machine's problem): {failure}")
            return 2
    print(
        f"build {probe.build_s} s, wrote {probe.written_bytes / 1e9:.2f} GB; healthy {probe.start_s} s after "
        f"docker run; {probe.right} of {compared(digits.labels)} fresh digits answered as the model does; "
        f"{probe.message}"
    )
    passed = probe.built and probe.healthy and probe.predict_ok and probe.non_root
    return 0 if passed and probe.right == compared(digits.labels) else 1


def compared(labels) -> int:
    """How many digits labelled ``labels`` a service must answer alike (-1: not compared)."""
    return int(sum(int(label) >= 0 for label in labels))


if __name__ == "__main__":
    sys.exit(main())
