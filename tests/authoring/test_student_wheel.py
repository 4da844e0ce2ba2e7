"""The student package: what a notebook imports, built by the kit as a wheel, installed alone.

The wheel is read file by file (the student runtime and nothing of the judge, the grading, the
authoring or the classroom), its metadata against the kit's pins, and it is installed into a fresh
virtual environment holding nothing else of the kit, where a release notebook runs its first cells
and its first visible test in that environment's own kernel. The install goes through uv, offline,
with the lock as constraints: the wheels ``make setup`` installed are in uv's cache.
"""

import json
import os
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import tpdl
from tpdl.authoring import wheel
from tpdl.core import paths

KIT = paths.PACKAGE.parent
NOT_SHIPPED = (
    "tpdl/judge",
    "tpdl/grading",
    "tpdl/authoring",
    "tpdl/classroom",
    "tpdl/templates",
    "tpdl/cli.py",
)
PLATFORMS = (
    {"sys_platform": "linux", "platform_machine": "x86_64"},
    {"sys_platform": "darwin", "platform_machine": "arm64"},
)


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    return wheel.build(tmp_path_factory.mktemp("wheel"))


def student_runtime() -> set[str]:
    """The kit's files a student's notebook needs, as paths inside the wheel."""
    package = paths.PACKAGE
    files = [package / "__init__.py"]
    for folder in ("core", "course"):
        files += (package / folder).glob("*.py")
    files += (package / "fixtures").glob("*.npz")
    files += [package / "fixtures" / "README.md", *(package / "locale").glob("*/LC_MESSAGES/messages.po")]
    return {file.relative_to(KIT).as_posix() for file in files}


def test_the_wheel_holds_the_student_runtime_and_its_metadata_only(built):
    assert built.name == f"tpdl_course-{tpdl.__version__}-py3-none-any.whl"
    names = list(wheel.members(built.read_bytes()))
    dist_info = f"tpdl_course-{tpdl.__version__}.dist-info/"
    assert not [name for name in names if name.startswith(NOT_SHIPPED) or "graders" in name], names
    assert not wheel.strays(names)
    assert {name for name in names if not name.startswith(dist_info)} == student_runtime()
    assert f"{dist_info}licenses/LICENSE" in names


def test_the_wheel_declares_the_kits_pins_of_what_a_notebook_imports(built):
    metadata = wheel.members(built.read_bytes())[
        f"tpdl_course-{tpdl.__version__}.dist-info/METADATA"
    ].decode()
    fields = [line.split(": ", 1) for line in metadata.splitlines() if ": " in line]
    assert ["Name", "tpdl-course"] in fields and ["Version", tpdl.__version__] in fields
    declared = {str(Requirement(value)) for key, value in fields if key == "Requires-Dist"}
    kit = {
        str(Requirement(line))
        for line in tomllib.loads((KIT / "pyproject.toml").read_text())["project"]["dependencies"]
    }
    assert declared <= kit
    assert {Requirement(line).name for line in declared} == set(wheel.DEPENDENCIES)


def test_the_same_files_give_the_same_wheel(built, tmp_path, monkeypatch):
    """Built again from scratch (not reusing this process's build): the same bytes."""
    monkeypatch.setattr(wheel, "BUILT", {})
    assert wheel.build(tmp_path).read_bytes() == built.read_bytes()
    assert len(wheel.BUILT) == 1


def locked() -> dict[str, list[Requirement]]:
    """The pins of requirements.lock by name (a name may have one per platform)."""
    pins: dict[str, list[Requirement]] = {}
    for line in (KIT / "requirements.lock").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            requirement = Requirement(line)
            pins.setdefault(canonicalize_name(requirement.name), []).append(requirement)
    return pins


def test_the_lock_satisfies_every_dependency_the_kit_declares():
    """pyproject.toml's dependencies (and its ``dev`` extra) hold every top-level pin of
    requirements.txt, and on Linux and macOS the lock's version of each is one they allow."""
    project = tomllib.loads((KIT / "pyproject.toml").read_text())["project"]
    declared = [
        Requirement(line) for line in project["dependencies"] + project["optional-dependencies"]["dev"]
    ]
    top_level = [line.split("#")[0] for line in (KIT / "requirements.txt").read_text().splitlines()]
    names = {canonicalize_name(r.name) for r in declared}
    assert {canonicalize_name(Requirement(line).name) for line in top_level if line.strip()} <= names
    pins = locked()
    for platform in PLATFORMS:
        for requirement in declared:
            if requirement.marker and not requirement.marker.evaluate(platform):
                continue
            versions = [
                next(iter(pin.specifier)).version
                for pin in pins.get(canonicalize_name(requirement.name), [])
                if not pin.marker or pin.marker.evaluate(platform)
            ]
            assert versions and all(requirement.specifier.contains(v) for v in versions), (
                requirement,
                versions,
            )
    assert "version" in project["dynamic"] and "version" not in project  # tpdl.__version__, one place


def run(*command: str | Path, **options) -> subprocess.CompletedProcess:
    done = subprocess.run([str(part) for part in command], capture_output=True, text=True, **options)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


@pytest.mark.slow
def test_a_fresh_venv_with_the_wheel_alone_runs_a_release_notebook(built, tmp_path, record_property):
    """The reference student's TP2, up to its first visible test, in the kernel of a venv holding
    the wheel and its dependencies; the judge is not there."""
    venv = tmp_path / "venv"
    python = venv / "bin" / "python"
    started = time.monotonic()
    run(Path(sys.executable).resolve(), "-m", "venv", "--without-pip", venv)  # the kit's Python 3.11, bare
    uv = Path(sys.executable).parent / "uv"
    lock = KIT / "requirements.lock"
    run(uv, "pip", "install", "--python", python, "--offline", "--constraint", lock, built)
    record_property("install_seconds", round(time.monotonic() - started, 1))

    work = tmp_path / "tp2"
    work.mkdir()
    notebook = nbformat.read(KIT / "sample_class" / "reference" / "tp2" / "tp2.ipynb", as_version=4)
    first_test = next(i for i, c in enumerate(notebook.cells) if c.metadata.get("nbgrader", {}).get("grade"))
    notebook.cells = notebook.cells[: first_test + 1]
    specs = tmp_path / "kernels"
    (specs / "student").mkdir(parents=True)
    argv = [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (specs / "student" / "kernel.json").write_text(f'{{"argv": {json.dumps(argv)}, "language": "python"}}')
    kernel = KernelManager(
        kernel_name="student", kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(specs)])
    )
    kit_only = ("PYTHONPATH", "VIRTUAL_ENV", "TPDL_COURSE_DIR")
    env = {key: value for key, value in os.environ.items() if key not in kit_only}
    client = NotebookClient(notebook, km=kernel, timeout=300, resources={"metadata": {"path": str(work)}})
    client.execute(env=env | {"TPDL_BUDGET": "ci"})
    printed = "".join(o.get("text", "") for c in notebook.cells if c.cell_type == "code" for o in c.outputs)
    assert "budget: ci" in printed and "sgd_step: visible tests passed" in printed, printed

    probe = "import tpdl, tpdl.course.budget; print(tpdl.__file__)"
    where = run(python, "-c", probe, cwd=work, env=env).stdout.strip()
    assert Path(where).is_relative_to(venv), where
    for module in ("tpdl.judge", "tpdl.grading", "tpdl.authoring", "tpdl.classroom", "tpdl.cli"):
        refused = subprocess.run(
            [python, "-c", f"import {module}"], cwd=work, env=env, capture_output=True, text=True
        )
        assert f"No module named '{module}'" in refused.stderr, (module, refused.stderr)
