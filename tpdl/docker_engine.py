"""Build and probe a student's TP1 Docker image, where a Docker engine runs.

TP1 ends with the digit classifier served as a Docker image. The judge's sandbox has no Docker, so
the graders first ask :func:`available` whether this machine has an engine, then hand
:func:`build_and_probe` the build context a student handed in (Dockerfile, app.py, requirements.txt,
the model). It builds the image with the classic builder, runs it on a free loopback port, checks
that ``GET /health`` answers ``{"status": "ok"}``, that ``POST /predict`` answers a digit and 10
probabilities, and that the service does not run as root; the container and the image are removed
afterwards, whatever happened. Only the ``docker`` command is used (no Docker SDK), each call under
a timeout, and what went wrong comes back in words for the student.
"""

import hashlib
import http.client
import json
import os
import re
import secrets
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

INFO_TIMEOUT_S = 5.0
COMMAND_TIMEOUT_S = 60.0
HEALTH_WAIT_S = 120.0
REQUEST_TIMEOUT_S = 30.0
LOG_LINES = 15
BLANK_IMAGE = [[0] * 28] * 28
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")
LEGACY_BUILDER_NOTICE = re.compile(r"DEPRECATED: The legacy builder.*?environment-variable\.", re.DOTALL)


def available() -> str | None:
    """None when a Docker engine answers ``docker info`` within a few seconds, else why not, in words."""
    try:
        done = subprocess.run(["docker", "info"], capture_output=True, timeout=INFO_TIMEOUT_S)
    except FileNotFoundError:
        return "the docker command is not installed"
    except subprocess.TimeoutExpired:
        return f"the Docker engine did not answer within {INFO_TIMEOUT_S:.0f} s"
    return None if done.returncode == 0 else "no Docker engine is running"


def image_name(student: str) -> str:
    """A Docker image name for one student's build, unique per student and per run.

    Docker wants lower-case names of limited characters, so a student id never goes into one as it
    is (``Alice`` and ``alice``, or two ids cut to the same prefix, would share an image): a hash
    of the id, then a random part, so that two runs at once never share one either.
    """
    return f"tpdl-tp1-{hashlib.sha256(student.encode()).hexdigest()[:16]}-{secrets.token_hex(6)}"


def build_and_probe(context: Path, tag: str, timeout_s: float = 600) -> dict:
    """Build ``context`` as ``tag``, run it, probe it, remove container and image; what was found.

    The answer holds ``built``, ``healthy`` (``/health`` answered ``{"status": "ok"}``),
    ``predict_ok``, ``non_root``, ``build_s``, ``start_s`` (from ``docker run`` to a healthy answer)
    and ``message``, which says in words what failed, or that everything passed.
    """
    result = {
        "built": False,
        "healthy": False,
        "predict_ok": False,
        "non_root": False,
        "build_s": 0.0,
        "start_s": 0.0,
        "message": "",
    }
    deadline = time.monotonic() + timeout_s
    containers: list[str] = []
    try:
        problems = _probe(context, tag, deadline, result, containers)
    except subprocess.TimeoutExpired:
        problems = [f"the check did not finish within {timeout_s:.0f} s"]
    except FileNotFoundError:
        problems = ["the docker command is not installed"]
    finally:
        for container in containers:
            _quietly("rm", "--force", container)
        _quietly("rmi", "--force", tag)
    result["message"] = (
        "; ".join(problems)
        if problems
        else "the image builds, answers /health and /predict, and runs as a non-root user"
    )
    return result


def _probe(context: Path, tag: str, deadline: float, result: dict, containers: list[str]) -> list[str]:
    """Fill ``result`` step by step, the started container in ``containers``; the problems found."""
    started = time.monotonic()
    build = _docker("build", "--force-rm", "--tag", tag, str(context), timeout_s=_left(deadline))
    result["build_s"] = round(time.monotonic() - started, 1)
    if build.returncode != 0:
        return [f"docker build failed:\n{_tail(build.stdout + build.stderr)}"]
    result["built"] = True

    started = time.monotonic()
    run = _docker("run", "--detach", "--name", f"{tag}-run", "--publish", "127.0.0.1::8000", tag,
                  timeout_s=_left(deadline))  # fmt: skip
    if run.returncode != 0:
        return [f"the container did not start:\n{_tail(run.stderr)}"]
    container = run.stdout.strip()
    containers.append(container)
    port = _docker("port", container, "8000/tcp", timeout_s=_left(deadline)).stdout.split(":")[-1].strip()
    if not port.isdigit():
        return [f"the container stopped right away; the end of its log:\n{_logs(container, deadline)}"]
    url = f"http://127.0.0.1:{port}"

    problems = []
    health_problem = _wait_healthy(url, container, min(HEALTH_WAIT_S, deadline - time.monotonic()))
    if health_problem:
        problems.append(f"{health_problem}; the end of its log:\n{_logs(container, deadline)}")
    else:
        result["healthy"] = True
        result["start_s"] = round(time.monotonic() - started, 1)
        predict_problem = _prediction_problem(*_ask(f"{url}/predict", BLANK_IMAGE))
        result["predict_ok"] = predict_problem is None
        if predict_problem:
            problems.append(predict_problem)

    if _running(container, deadline):
        user = _docker("exec", container, "id", "-u", timeout_s=_left(deadline))
        uid = user.stdout.strip()
        result["non_root"] = user.returncode == 0 and uid.isdigit() and uid != "0"
        if not result["non_root"]:
            problems.append(
                "the service runs as root: create a user and switch to it with USER in the Dockerfile"
                if uid == "0"
                else "could not tell which user runs the service (`id -u` failed in the container)"
            )
    return problems


def _wait_healthy(url: str, container: str, wait_s: float) -> str | None:
    """None once ``GET /health`` answers ``{"status": "ok"}`` within ``wait_s``, else what went wrong."""
    until = time.monotonic() + wait_s
    status, answer = 0, None
    while time.monotonic() < until:
        status, answer = _ask(f"{url}/health")
        if status == 200 and answer == {"status": "ok"}:
            return None
        if not _running(container, until):
            return "the container stopped before /health answered"
        time.sleep(1)
    if status == 0:
        return f"/health did not answer within {wait_s:.0f} s"
    return f'/health answered {json.dumps(answer)} (HTTP {status}), not {{"status": "ok"}}'


def _prediction_problem(status: int, answer: object) -> str | None:
    """None if ``answer`` is a prediction of one image, else what is wrong with it."""
    if status != 200:
        return "POST /predict did not answer" if status == 0 else f"POST /predict answered HTTP {status}"
    if not isinstance(answer, dict):
        return "POST /predict should answer a JSON object"
    digit, probabilities = answer.get("digit"), answer.get("probabilities")
    if isinstance(digit, bool) or not isinstance(digit, int) or not 0 <= digit <= 9:
        return "POST /predict should answer a 'digit' from 0 to 9"
    if not isinstance(probabilities, list) or len(probabilities) != 10:
        return "POST /predict should answer 'probabilities', a list of 10 numbers"
    return None


def _ask(url: str, image: list | None = None) -> tuple[int, object]:
    """HTTP status and JSON answer (None if not JSON) of GET ``url``, or of POSTing ``{"image": image}``.

    The status is 0 when nothing answered.
    """
    body = None if image is None else json.dumps({"image": image}).encode()
    request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=REQUEST_TIMEOUT_S) as answer:
            status, raw = answer.status, answer.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    except (OSError, http.client.HTTPException):
        return 0, None
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, None


def _docker(*args: str, timeout_s: float = COMMAND_TIMEOUT_S) -> subprocess.CompletedProcess:
    """``docker ARGS`` with the classic builder, output captured as text; raises TimeoutExpired."""
    environment = {**os.environ, "DOCKER_BUILDKIT": "0"}
    return subprocess.run(
        ["docker", *args], capture_output=True, text=True, timeout=timeout_s, env=environment
    )


def _quietly(*args: str) -> None:
    """``docker ARGS``, for cleaning up: failures and timeouts are ignored."""
    try:
        _docker(*args)
    except (subprocess.TimeoutExpired, OSError):
        pass


def _running(container: str, deadline: float) -> bool:
    """Whether ``container`` is still running."""
    state = _docker("inspect", "--format", "{{.State.Running}}", container, timeout_s=_left(deadline))
    return state.stdout.strip() == "true"


def _logs(container: str, deadline: float) -> str:
    """The last lines ``container`` wrote."""
    logs = _docker("logs", "--tail", str(LOG_LINES), container, timeout_s=_left(deadline))
    return _tail(logs.stdout + logs.stderr)


def _tail(text: str) -> str:
    """The last lines of a command's output, without terminal colours or the legacy builder's notice."""
    text = LEGACY_BUILDER_NOTICE.sub("", ANSI_ESCAPE.sub("", text))
    return "\n".join(text.strip().splitlines()[-LOG_LINES:])


def _left(deadline: float) -> float:
    """Seconds to ``deadline``, and at least one (so that a late step still fails on its own timeout)."""
    return max(deadline - time.monotonic(), 1.0)
