"""Hidden checks of the ``Dockerfile`` and ``.dockerignore`` (grade cell ``dockerfile_tests``, 6 points).

The Dockerfile is linted with hadolint (failing on its errors and warnings) and read with
dockerfile-parse; nothing of it is built here (``test_docker_image`` builds it where Docker runs).
"""

import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from dockerfile_parse import DockerfileParser

from tpdl.core import i18n
from tpdl.grading import StudentCodeError

_ = i18n.domain(__file__)

pytestmark = pytest.mark.cell("dockerfile_tests")

HADOLINT = Path(sys.executable).parent / "hadolint"
SLIM_BASE = re.compile(
    r"^(docker\.io/)?(library/)?python:3\.\d+(\.\d+)?-slim(-[a-z]+)?(@sha256:[0-9a-f]{64})?$"
)
ROOT_USERS = {"root", "0", "0:0", "root:root"}


@pytest.fixture(scope="module")
def dockerfile(student) -> str:
    return student.read_file("Dockerfile", max_bytes=64 * 1024).decode("utf-8", errors="replace")


@pytest.fixture(scope="module")
def instructions(dockerfile) -> list[tuple[str, str]]:
    parser = DockerfileParser(fileobj=io.BytesIO(dockerfile.encode()))
    return [(item["instruction"].upper(), item["value"]) for item in parser.structure]


def final_stage(instructions):
    """The instructions of the last stage (a multi-stage build ships only that one)."""
    starts = [i for i, (name, __) in enumerate(instructions) if name == "FROM"]
    assert starts, _("the Dockerfile has no FROM instruction")
    return instructions[starts[-1] :]


@pytest.mark.points(1)
def test_dockerfile_passes_hadolint(dockerfile, instructions):
    final_stage(instructions)  # an empty Dockerfile lints clean: it must build something first
    done = subprocess.run(
        [str(HADOLINT), "--format", "json", "--no-color", "-"],
        input=dockerfile,
        capture_output=True,
        text=True,
        timeout=60,
    )
    try:
        findings = json.loads(done.stdout or "[]")
    except json.JSONDecodeError:
        raise AssertionError(
            _("hadolint could not read the Dockerfile: {error}", error=done.stderr.strip()[:300])
        ) from None
    serious = [f for f in findings if f.get("level") in ("error", "warning")]
    found = [
        _("line {line} {code}: {message}", line=f.get("line"), code=f.get("code"), message=f.get("message"))
        for f in serious[:6]
    ]
    assert not serious, _("hadolint: {findings}", findings="; ".join(found))


@pytest.mark.points(1)
def test_dockerfile_uses_a_pinned_slim_python_base(instructions):
    image = final_stage(instructions)[0][1].split()[0]
    assert SLIM_BASE.match(image), _(
        "the final image starts FROM {image}: use a slim Python base pinned to a version "
        "(python:3.X-slim, or more precise), never latest or an unversioned tag",
        image=image,
    )


@pytest.mark.points(1)
def test_dockerfile_installs_dependencies_before_the_code(instructions):
    # Over the whole file: a multi-stage build may install in an earlier stage and copy the result.
    install = next(
        (
            i
            for i, (name, value) in enumerate(instructions)
            if name == "RUN" and "pip" in value and "requirements" in value
        ),
        None,
    )
    assert install is not None, _("no RUN installs the dependencies with pip from requirements.txt")
    start = len(instructions) - len(final_stage(instructions))
    code = [
        start + i
        for i, (name, value) in enumerate(final_stage(instructions))
        if name in ("COPY", "ADD")
        and ("app.py" in value.split() or any(s in (".", "./", "*") for s in value.split()[:-1]))
    ]
    assert code, _("no COPY brings app.py into the image")
    assert install < min(code), _(
        "the code is copied before the dependencies are installed: every change of app.py would "
        "reinstall them (copy requirements.txt, install, then copy the code)"
    )


@pytest.mark.points(1)
def test_dockerfile_runs_as_a_non_root_user(instructions):
    users = [value.strip() for name, value in final_stage(instructions) if name == "USER"]
    assert users, _("no USER instruction: the service would run as root")
    assert users[-1] not in ROOT_USERS, _("the last USER is root: run the service as an unprivileged user")


@pytest.mark.points(1)
def test_dockerfile_exposes_checks_health_and_serves_with_gunicorn(instructions):
    stage = final_stage(instructions)
    names = [name for name, __ in stage]
    assert "EXPOSE" in names, _("EXPOSE the port the service listens on")
    health = [value for name, value in stage if name == "HEALTHCHECK"]
    assert health and health[-1].strip().upper() != "NONE", _("add a HEALTHCHECK (it can query /health)")
    command = " ".join(value for name, value in stage if name in ("CMD", "ENTRYPOINT"))
    assert "gunicorn" in command, _("the command (CMD or ENTRYPOINT) should start gunicorn")


def dockerignore_rules(text: str) -> list[str]:
    """The patterns of a ``.dockerignore``: one per line, comments and blank lines left out."""
    return [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]


def dockerignore_excludes(rules: list[str], path: str) -> bool:
    """Whether Docker leaves ``path`` (relative, ``/``-separated) out of the build context: the
    matcher of Docker's own Python SDK (``**`` for any folders, the last matching rule wins,
    ``!`` for exceptions, a folder's rule covering what it holds)."""
    from docker.utils.build import PatternMatcher

    return PatternMatcher(rules).matches(path)


@pytest.mark.points(1)
def test_dockerfile_keeps_the_build_context_small(student):
    try:
        patterns = student.read_file(".dockerignore", max_bytes=16 * 1024).decode("utf-8", errors="replace")
    except StudentCodeError:
        raise AssertionError(
            _(
                "no .dockerignore: the whole folder (notebook, "
                "MLflow runs, checkpoints) would be sent to the build"
            )
        ) from None
    rules = dockerignore_rules(patterns)

    def ignored(path: str) -> bool:
        return dockerignore_excludes(rules, path)

    kept = [
        p for p in ("tp1.ipynb", "mlruns/1/run/artifacts/mnist_dense.keras", "mlflow.db") if not ignored(p)
    ]
    assert not kept, _(".dockerignore lets these into the build context: {paths}", paths=", ".join(kept))
    needed = [p for p in ("app.py", "requirements.txt") if ignored(p)]
    assert not needed, _(".dockerignore keeps out what the image needs: {paths}", paths=", ".join(needed))
