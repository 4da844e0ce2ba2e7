"""Does a student's Docker build run in the kit's box, and is only the student's own failure charged?

Without an engine (CI has none), a fake ``docker`` on PATH plays an engine failing in each way the
machine can fail, and one that works: the machine's failures must make the checks wait, the
student's failures must lose them, and the command lines must hold the box (internal network,
no pull, limits, everything removed). With an engine (tests marked ``docker``), real builds prove
the box: no network but the course's index, a memory limit, a time limit, a bound on what a build
writes, no pull of an image absent from the store, nothing left behind; and the reference, built
with no registry reachable, keeps its points.
"""

import base64
import contextlib
import fcntl
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tpdl import classroom, docker_engine, grading, paths, sandbox

REFERENCE = paths.sample_submission("reference", "tp1")

# --------------------------------------------------------------------------- a fake engine

FAKE_DOCKER = """\
#!{python} -SE
import json, os, sys, time
from pathlib import Path

args, scenario, state = sys.argv[1:], os.environ["FAKE_DOCKER"], Path(os.environ["FAKE_DOCKER_STATE"])
with open(state / "calls.jsonl", "a") as log:
    log.write(json.dumps(args) + "\\n")
dead = (state / "dead").exists()
if dead or scenario == "stopped":
    sys.exit("Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?")
command = args[0]
if command == "info":
    if scenario == "hung":
        time.sleep(3)
    print(state if "--format" in args else "Server Version: fake")
elif command == "image" and args[1] == "inspect":
    name, wanted = args[-1], args[args.index("--format") + 1]
    if scenario == "no-base" or name in os.environ.get("FAKE_DOCKER_ABSENT", "").split():
        sys.exit(f"Error: No such image: {{name}}")
    if wanted == "{{{{.Id}}}}":
        print("sha256:base")
    elif "{{{{.Parent}}}}" in wanted:
        print("sha256:built sha256:base 1188000000")
    else:
        print("sha256:base 188000000 linux/amd64")
elif command == "images":
    print("sha256:built" if (state / "built").exists() else "")
elif command == "rmi":
    (state / "built").unlink(missing_ok=True)
elif command == "run":
    print("id-" + args[args.index("--name") + 1])
elif command == "inspect":
    print("true" if "Running" in args[2] else ("172.30.0.2" if args[-1].endswith("-index") else "172.30.0.3"))
elif command == "exec":
    url = args[5]
    if scenario == "index-down" and url.endswith("/simple/"):
        print(json.dumps({{"status": 0, "body": ""}}))
    elif url.endswith("/simple/"):
        print(json.dumps({{"status": 200, "body": "<html></html>"}}))
    elif url.endswith("/health"):
        print(json.dumps({{"status": 200, "body": json.dumps({{"status": "ok"}})}}))
    else:
        print(json.dumps({{"status": 200, "body": json.dumps({{"digit": 3, "probabilities": [0.1] * 10}})}}))
elif command == "top":
    print("PID UID")
    print("4242 " + ("0" if scenario == "root" else "10001"))
elif command == "build":
    print("Step 1/3 : FROM python:3.11-slim")
    (state / "built").touch()
    if scenario == "engine-dies":
        (state / "dead").touch()
        sys.exit("Error response from daemon: Cannot connect to the Docker daemon")
    if scenario in ("step-fails", "oom"):
        code = 137 if scenario == "oom" else 1
        # What a failing step prints, the student controls: engine-like words must not make it the machine's.
        print("no space left on device; Cannot connect to the Docker daemon")
        sys.exit(f"The command '/bin/sh -c pip install -r requirements.txt' returned a non-zero code: {{code}}")
    print("Successfully built 0123456789ab")
elif command == "pull":
    sys.exit("pulling is not allowed")
"""


@pytest.fixture
def fake_engine(tmp_path, monkeypatch):
    """``fake_engine(scenario)``: a fake ``docker`` first on PATH, a prepared wheelhouse; its calls."""
    bin_dir, state, cache = tmp_path / "bin", tmp_path / "engine", tmp_path / "cache"
    bin_dir.mkdir()
    state.mkdir()
    (bin_dir / "docker").write_text(FAKE_DOCKER.format(python=sys.executable))
    (bin_dir / "docker").chmod(0o755)
    index = cache / "wheelhouse" / "tp1"
    (index / "simple").mkdir(parents=True)
    (index / "simple" / "index.html").write_text("<html></html>")
    (index / "wheelhouse.json").write_text("{}")
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_DOCKER_STATE", str(state))
    monkeypatch.setenv("TPDL_DOCKER_CACHE", str(cache))
    monkeypatch.setattr(docker_engine, "POLL_S", 0.05)
    monkeypatch.setenv("TPDL_DOCKER", "auto")  # the kit's tests turn Docker checks off

    def start(scenario: str) -> "FakeEngine":
        monkeypatch.setenv("FAKE_DOCKER", scenario)
        return FakeEngine(state)

    return start


class FakeEngine:
    def __init__(self, state: Path):
        self.state = state

    @property
    def calls(self) -> list[list[str]]:
        log = self.state / "calls.jsonl"
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    def called(self, *words: str) -> list[list[str]]:
        return [call for call in self.calls if call[: len(words)] == list(words)]


@pytest.fixture
def context(tmp_path):
    """The reference's build context."""
    folder = tmp_path / "context"
    shutil.copytree(REFERENCE, folder)
    return folder


def test_no_docker_command_waits(tmp_path, monkeypatch, context):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(docker_engine.MachineFailure, match="not installed") as failure:
        docker_engine.build_and_probe(context, "tpdl-tp1-x")
    assert failure.value.lasting


@pytest.mark.parametrize(("scenario", "says"), [("stopped", "no Docker engine"), ("hung", "did not answer")])
def test_an_engine_that_does_not_answer_waits(fake_engine, monkeypatch, context, scenario, says):
    engine = fake_engine(scenario)
    monkeypatch.setattr(docker_engine, "INFO_TIMEOUT_S", 0.5)
    with pytest.raises(docker_engine.MachineFailure, match=says):
        docker_engine.build_and_probe(context, "tpdl-tp1-x")
    assert not engine.called("build")


def test_a_base_image_absent_from_the_store_waits_and_is_never_pulled(fake_engine, context):
    engine = fake_engine("no-base")
    with pytest.raises(docker_engine.MachineFailure, match="python:3.11-slim is not in") as failure:
        docker_engine.build_and_probe(context, "tpdl-tp1-x")
    assert failure.value.lasting
    assert engine.called("image", "inspect") and not engine.called("build") and not engine.called("pull")


def test_a_student_image_absent_from_the_store_waits_too(fake_engine, monkeypatch, context):
    (context / "Dockerfile").write_text(
        "FROM python:3.11-slim AS build\nCOPY --from=tools:1 /x /x\nFROM build\n"
    )
    monkeypatch.setenv("FAKE_DOCKER_ABSENT", "tools:1")
    engine = fake_engine("ok")
    with pytest.raises(docker_engine.MachineFailure, match="tools:1 is not in"):
        docker_engine.build_and_probe(context, "tpdl-tp1-x")
    assert not engine.called("build") and not engine.called("pull")


def test_a_missing_wheelhouse_waits(fake_engine, monkeypatch, tmp_path, context):
    engine = fake_engine("ok")
    monkeypatch.setenv("TPDL_DOCKER_CACHE", str(tmp_path / "empty"))
    with pytest.raises(docker_engine.MachineFailure, match="package index for tp1 is not prepared"):
        docker_engine.build_and_probe(context, "tpdl-tp1-x")
    assert not engine.called("build")


def test_an_index_that_does_not_answer_waits_and_everything_is_removed(fake_engine, monkeypatch, context):
    engine = fake_engine("index-down")
    monkeypatch.setattr(docker_engine, "INDEX_WAIT_S", 0.2)
    with pytest.raises(docker_engine.MachineFailure, match="package index did not answer"):
        docker_engine.build_and_probe(context, "tpdl-tp1-x")
    assert not engine.called("build")
    assert engine.called("rm", "--force") and engine.called("network", "rm", "tpdl-tp1-x-net")


def test_an_engine_dying_during_the_build_waits_and_regrades_next_run(fake_engine, context):
    engine = fake_engine("engine-dies")
    before = docker_engine.state("tp1")
    with pytest.raises(docker_engine.MachineFailure, match="stopped answering during the check") as failure:
        docker_engine.build_and_probe(context, "tpdl-tp1-x")
    assert not failure.value.lasting
    (engine.state / "dead").unlink()  # the engine is back: the next run's key differs from this one's
    assert docker_engine.state("tp1") != before


def test_a_full_disk_waits(fake_engine, context):
    engine = fake_engine("ok")
    with pytest.raises(docker_engine.MachineFailure, match="GiB free"):
        docker_engine.build_and_probe(context, "tpdl-tp1-x", docker_engine.Limits(disk_floor_bytes=2**62))
    assert not engine.called("build")


@pytest.mark.parametrize(("scenario", "says"), [("step-fails", "docker build failed:"), ("oom", "memory")])
def test_a_failing_step_is_the_students_whatever_it_printed(fake_engine, context, scenario, says):
    fake_engine(scenario)
    probe = docker_engine.build_and_probe(context, "tpdl-tp1-x")
    assert not probe.built and says in probe.message and "no space left on device" in probe.log


def test_the_build_runs_in_the_box_and_leaves_nothing(fake_engine, context):
    engine = fake_engine("ok")
    probe = docker_engine.build_and_probe(context, "tpdl-tp1-x", docker_engine.Limits(memory_bytes=2**30))
    assert probe.built and probe.healthy and probe.predict_ok and probe.non_root, probe.message
    (network,) = engine.called("network", "create")
    assert "--internal" in network and "com.docker.network.bridge.inhibit_ipv4=true" in network
    (index,) = [call for call in engine.called("run") if call[3] == "tpdl-tp1-x-index"]
    assert {"--read-only", "--cap-drop", "no-new-privileges", "--network"} <= set(index)
    (build,) = engine.called("build")
    assert build[build.index("--network") + 1] == "tpdl-tp1-x-net"
    assert {"--no-cache", "--force-rm"} <= set(build) and "--pull" not in build
    assert build[build.index("--memory") + 1] == build[build.index("--memory-swap") + 1] == str(2**30)
    assert "PIP_INDEX_URL=http://172.30.0.2:8080/simple/" in build and "PIP_TRUSTED_HOST=172.30.0.2" in build
    boxed = Path(build[build.index("--file") + 1])
    assert boxed.parent != context and not boxed.exists(), (
        "the boxed Dockerfile is outside the context, and removed"
    )
    (served,) = [call for call in engine.called("run") if call[3] == "tpdl-tp1-x-run"]
    assert "--publish" not in served and served[served.index("--network") + 1] == "tpdl-tp1-x-net"
    assert {"--memory", "--pids-limit", "--cpus", "no-new-privileges"} <= set(served)
    removed = [call for call in engine.calls if call[0] in ("rm", "rmi") or call[:2] == ["network", "rm"]]
    assert ["rmi", "--force", "sha256:built"] in removed and ["network", "rm", "tpdl-tp1-x-net"] in removed
    assert any("tpdl-tp1-x-run" in call and "tpdl-tp1-x-index" in call for call in removed)
    assert not engine.called("pull")


def test_a_service_running_as_root_loses_the_point(fake_engine, context):
    fake_engine("root")
    probe = docker_engine.build_and_probe(context, "tpdl-tp1-x")
    assert probe.built and probe.healthy and not probe.non_root and "runs as root" in probe.message


def test_the_boxed_dockerfile_declares_the_index_and_the_label_in_every_stage():
    text = b'ARG BASE=python:3.11-slim\nFROM ${BASE} AS build\nRUN pip install x\nFROM \\\n  build\nCMD ["x"]'
    boxed = docker_engine._boxed_dockerfile(text, "tpdl.box.k").decode()
    added = "LABEL tpdl.box=1 tpdl.box.k=1\nARG PIP_INDEX_URL\nARG PIP_TRUSTED_HOST\n"
    assert boxed == (
        f"ARG BASE=python:3.11-slim\nFROM ${{BASE}} AS build\n{added}RUN pip install x\nFROM \\\n  build\n{added}"
        'CMD ["x"]'
    )
    assert docker_engine._images(text) == ["python:3.11-slim"]
    assert docker_engine._images(
        b"FROM a:1 AS s\nCOPY --from=s /x /x\nCOPY --from=b:2 /y /y\nFROM scratch\n"
    ) == [
        "a:1",
        "b:2",
    ]


def test_only_tps_with_docker_checks_put_the_engine_in_their_cache_key(fake_engine):
    limits = sandbox.Limits()
    fake_engine("stopped")
    stopped = {tp: classroom.cache_key(tp, limits) for tp in ("tp1", "tp2")}
    fake_engine("ok")
    running = {tp: classroom.cache_key(tp, limits) for tp in ("tp1", "tp2")}
    assert stopped["tp2"] == running["tp2"], "an engine starting regraded a TP without Docker checks"
    assert stopped["tp1"] != running["tp1"]
    assert [tp for tp in paths.assignments() if docker_engine.builds_images(tp)] == ["tp1"]


@pytest.mark.parametrize(("scenario", "counted"), [("no-base", False), ("step-fails", True)])
def test_the_graders_count_only_the_students_failures(
    fake_engine, monkeypatch, zygote, tmp_path, scenario, counted
):
    fake_engine(scenario)
    submission = tmp_path / "submission"
    shutil.copytree(REFERENCE, submission)
    result, _log = grading.grade_submission(zygote, "tp1", submission, cells={"docker_image_tests"})
    assert len(result.checks) == 2
    for check in result.checks:
        assert not check.passed and check.counted is counted and check.points == 0
        assert ("not counted" in check.message) is not counted, check.message


# --------------------------------------------------------------------------- a real engine


@pytest.fixture(scope="module")
def engine():
    """A Docker engine with the kit's base image and TP1's wheelhouse, or a skip saying what is missing."""
    reason = docker_engine.available()
    if reason:
        pytest.skip(f"no Docker engine here ({reason})")
    missing = [
        image for image in docker_engine.kit_images("tp1") if docker_engine._image_id(image) == "absent"
    ]
    if missing or not (docker_engine.wheelhouse("tp1") / "wheelhouse.json").is_file():
        pytest.skip(f"the engine lacks {missing or 'the wheelhouse'}: run `make docker-check` first")


@pytest.fixture
def untouched_engine(engine, tmp_path_factory):
    """What the engine holds before the test; after it, the same again (nothing of the build left).

    One test at a time uses the engine, whichever pytest-xdist worker runs it: each sees only its own build.
    """
    with open(tmp_path_factory.getbasetemp().parent / "docker-engine.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        before = _inventory()
        yield
        assert _inventory() == before, "the build left images, containers or networks behind"


def _inventory() -> dict[str, set[str]]:
    listed = {
        "images": ["images", "--all", "--quiet", "--no-trunc"],
        "containers": ["ps", "--all", "--quiet", "--no-trunc"],
        "networks": ["network", "ls", "--quiet", "--no-trunc"],
    }
    return {what: set(_docker(*args).stdout.split()) for what, args in listed.items()}


def _docker(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=60)


def _attack(tmp_path: Path, dockerfile: str) -> Path:
    """The reference's context with the attacker's Dockerfile."""
    folder = tmp_path / "attack"
    shutil.copytree(REFERENCE, folder)
    (folder / "Dockerfile").write_text(dockerfile)
    return folder


def _host_addresses() -> list[str]:
    """This machine's IPv4 addresses other than loopback, and the default bridge's gateway."""
    found = subprocess.run(["ip", "-4", "-o", "addr", "show"], capture_output=True, text=True).stdout
    addresses = {line.split()[3].split("/")[0] for line in found.splitlines() if " lo " not in line}
    gateway = _docker(
        "network", "inspect", "bridge", "--format", "{{(index .IPAM.Config 0).Gateway}}"
    ).stdout.strip()
    return sorted(addresses | {gateway} - {""})


REACH = """\
import socket, sys
reached = []
for target in sys.argv[1:]:
    host, port = target.rsplit(":", 1)
    try:
        socket.create_connection((host, int(port)), timeout=2).close()
        reached.append(target)
        print("reached", target, flush=True)
    except OSError as error:
        print("unreachable", target, type(error).__name__, flush=True)
sys.exit(0 if reached else 1)
"""


def _python_step(script: str, *args: str) -> str:
    """A ``RUN`` step running ``script`` with ``args`` (the script travels base64-encoded)."""
    encoded = base64.b64encode(script.encode()).decode()
    return f"RUN python3 -c \"import base64; exec(base64.b64decode('{encoded}'))\" {' '.join(args)}\n"


@pytest.mark.docker
@pytest.mark.slow
def test_a_build_reaches_neither_the_internet_nor_the_host(untouched_engine, tmp_path):
    listener = socket.create_server(("0.0.0.0", 0))
    port = listener.getsockname()[1]
    visits = []

    def accept():
        with contextlib.suppress(OSError):
            while True:
                visits.append(listener.accept()[0])

    threading.Thread(target=accept, daemon=True).start()
    targets = [f"{host}:{port}" for host in _host_addresses()]
    targets += ["pypi.org:443", "151.101.0.223:443", "169.254.169.254:80", "10.0.0.1:80"]
    # Outside the box, on the default bridge, the same script reaches the host's listener.
    outside = _docker("run", "--rm", docker_engine.kit_images("tp1")[0], "python3", "-c", REACH, targets[0])
    assert "reached" in outside.stdout, (
        f"the control could not reach the host: {outside.stdout}{outside.stderr}"
    )
    time.sleep(0.5)
    visited = len(visits)
    assert visited, "the control's connection did not reach the listener"
    context = _attack(tmp_path, "FROM python:3.11-slim\n" + _python_step(REACH, *targets))
    probe = docker_engine.build_and_probe(context, docker_engine.image_name("attacker-network"))
    assert not probe.built
    for target in targets:
        assert f"unreachable {target}" in probe.log, f"{target} was not tried: {probe.log}"
    assert "reached" not in probe.log.replace("unreachable", "")
    time.sleep(0.5)
    assert len(visits) == visited, "a build step connected to the host's listener"
    listener.close()


MEMORY = """\
chunks = []
for mib in range(64, 8192, 64):
    chunks.append(b"\\x01" * (64 * 2**20))  # written, so held
    print("held", mib, "MiB", flush=True)
"""


@pytest.mark.docker
def test_a_build_step_holding_too_much_memory_is_killed(untouched_engine, tmp_path):
    context = _attack(tmp_path, "FROM python:3.11-slim\n" + _python_step(MEMORY))
    limit = 256 * 2**20
    probe = docker_engine.build_and_probe(context, docker_engine.image_name("attacker-memory"),
                                          docker_engine.Limits(memory_bytes=limit))  # fmt: skip
    held = [int(line.split()[1]) for line in probe.log.splitlines() if line.startswith("held ")]
    assert held, f"the attack did not run: {probe.log}"
    assert not probe.built and "memory" in probe.message
    assert max(held) * 2**20 <= limit, (
        f"a build step held {max(held)} MiB under a limit of {limit // 2**20} MiB"
    )


@pytest.mark.docker
def test_an_endless_build_is_stopped(untouched_engine, tmp_path):
    context = _attack(tmp_path, "FROM python:3.11-slim\nRUN echo started && sleep infinity\n")
    probe = docker_engine.build_and_probe(context, docker_engine.image_name("attacker-sleep"),
                                          docker_engine.Limits(build_s=10))  # fmt: skip
    assert "started" in probe.log, f"the attack did not run: {probe.log}"
    assert not probe.built and "did not finish within 10 s" in probe.message


@pytest.mark.docker
def test_a_build_filling_the_disk_is_stopped(untouched_engine, tmp_path):
    context = _attack(tmp_path, "FROM python:3.11-slim\nRUN for i in $(seq 1 100); do "
                      "head -c 50000000 /dev/zero > /fill$i && echo wrote $i; sleep 0.1; done\n")  # fmt: skip
    limit = 300 * 10**6
    probe = docker_engine.build_and_probe(context, docker_engine.image_name("attacker-disk"),
                                          docker_engine.Limits(written_bytes=limit))  # fmt: skip
    wrote = [int(line.split()[1]) for line in probe.log.splitlines() if line.startswith("wrote ")]
    assert wrote, f"the attack did not run: {probe.log}"
    assert not probe.built and "more than the 0.28 GiB allowed" in probe.message
    assert limit < probe.written_bytes and max(wrote) < 100, "the build was not stopped before it wrote 5 GB"


@pytest.mark.docker
def test_a_base_image_absent_from_the_store_waits_without_a_pull(untouched_engine, tmp_path):
    context = _attack(tmp_path, "FROM tpdl-never-stored/python:3.11-slim\nRUN echo hello\n")
    since = _docker("system", "info", "--format", "{{.SystemTime}}").stdout.strip()
    with pytest.raises(docker_engine.MachineFailure, match="is not in the grading machine's Docker store"):
        docker_engine.build_and_probe(context, docker_engine.image_name("attacker-from"))
    until = _docker("system", "info", "--format", "{{.SystemTime}}").stdout.strip()
    events = _docker("events", "--since", since, "--until", until, "--format", "{{.Type}} {{.Action}}")
    assert events.returncode == 0, events.stderr
    assert not {"image pull", "container create"} & set(events.stdout.splitlines()), events.stdout


@pytest.mark.docker
@pytest.mark.slow
def test_the_reference_keeps_its_points_with_no_registry_and_attackers_earn_nothing(
    untouched_engine, zygote, monkeypatch, tmp_path
):
    """The reference and three attackers graded by TP1's own Docker checks, on an engine reaching no registry."""
    monkeypatch.setenv("TPDL_DOCKER", "auto")

    def graded(student: str, dockerfile: str | None = None):
        folder = tmp_path / student
        shutil.copytree(REFERENCE, folder)
        if dockerfile:
            (folder / "Dockerfile").write_text(dockerfile)
        result, _log = grading.grade_submission(zygote, "tp1", folder, student, cells={"docker_image_tests"})
        return {check.name: check for check in result.checks}

    network = graded("network", 'FROM python:3.11-slim\nRUN python3 -c "import urllib.request as u; '
                     "u.urlopen('https://pypi.org/simple/', timeout=5)\" && echo phoned-home\n")  # fmt: skip
    absent = graded("absent", "FROM tpdl-never-stored/python:3.11-slim\nRUN echo hello\n")
    memory = graded(
        "memory", "FROM python:3.11-slim\nRUN python3 -c \"b = b'x' * 3 * 2**30; print(len(b))\"\n"
    )
    for name, checks in {"network": network, "memory": memory}.items():
        assert all(c.counted and not c.passed and c.points == 0 for c in checks.values()), name
    assert "URLError" in network["docker_image_builds"].message  # it ran, and reached nothing
    assert "phoned-home" not in network["docker_image_builds"].message.splitlines()  # echoed on success only
    assert "memory" in memory["docker_image_builds"].message
    assert all(not c.counted and c.points == 0 for c in absent.values())
    assert "tpdl-never-stored/python:3.11-slim" in absent["docker_image_builds"].message
    # After the attackers, in the same judge: the reference, on an engine that reaches no registry.
    honest = graded("honest")
    assert all(c.passed and c.counted for c in honest.values()), {n: c.message for n, c in honest.items()}
