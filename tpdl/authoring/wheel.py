"""The student package, ``tpdl-course``: what a TP's notebook imports, as a wheel a student installs.

A notebook of the course imports ``tpdl`` and ``tpdl.course`` (budgets, data, costs, phantoms,
videos, experiments), which need ``tpdl.core`` (paths, messages, the course's settings), the kit's
message catalogues and its small data sets. The wheel holds exactly these: the package's
``__init__.py``, ``tpdl/core/``, ``tpdl/course/``, ``tpdl/locale/`` and ``tpdl/fixtures/``. No
judge, no grading, no authoring, no classroom, no graders, no solutions: nothing that decides a
grade or knows an answer reaches a student's machine.

It is built by ``python -m build`` from a staging copy of those files, with the kit's version
(``tpdl.__version__``) and the kit's own pins (``pyproject.toml``) of what they import, and of
what a notebook imports beside them (TensorFlow, Keras, matplotlib, MLflow, Flask, a kernel).
The build runs without isolation, with the kit's ``setuptools``, so it needs no network;
``SOURCE_DATE_EPOCH`` fixes the archive's dates, so the same files give the same bytes and a
publication of an unchanged kit changes nothing. A process builds the wheel of a given staging
copy once (:data:`BUILT`): publishing again from it reuses the bytes.
"""

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path

from packaging.requirements import Requirement

from tpdl.core import paths

NAME = "tpdl-course"
REQUIRES_PYTHON = ">=3.11,<3.13"  # a student's own Python 3.11 or 3.12
PACKAGES = ("tpdl", "tpdl.core", "tpdl.course")
DATA = ("fixtures/*.npz", "fixtures/*.md", "locale/*/LC_MESSAGES/*.po")
# What the student runtime imports (traitlets: the course's settings; babel: the catalogues), then
# what a notebook imports, and ipykernel to run it: each at the version the kit itself pins.
DEPENDENCIES = (
    "traitlets",
    "babel",
    "numpy",
    "keras",
    "tensorflow-cpu",
    "tensorflow",
    "matplotlib",
    "mlflow",
    "flask",
    "ipykernel",
)
SHIPPED = ("tpdl/__init__.py", "tpdl/core/", "tpdl/course/", "tpdl/locale/", "tpdl/fixtures/")
FIXED_DATE = "315532800"  # 1980-01-01, the earliest date a zip archive holds
BUILT: dict[str, tuple[str, bytes]] = {}  # the wheels this process built (name, bytes), by staging digest
DESCRIPTION = """# tpdl-course

What the notebooks of the TP_DL deep-learning course import: `import tpdl` and `tpdl.course`
(the budgets of a run, the course's small data sets, training costs, synthetic phantoms and videos).
"""


class WheelError(Exception):
    """The student wheel could not be built."""


def pinned_dependencies() -> list[str]:
    """The kit's own requirement (``pyproject.toml``) of each name of :data:`DEPENDENCIES`."""
    declared = tomllib.loads((paths.PACKAGE.parent / "pyproject.toml").read_text())["project"]["dependencies"]
    pinned = [str(Requirement(line)) for line in declared if Requirement(line).name in DEPENDENCIES]
    missing = set(DEPENDENCIES) - {Requirement(line).name for line in pinned}
    if missing:
        raise WheelError(f"the kit declares no version of {', '.join(sorted(missing))} (pyproject.toml)")
    return pinned


def project_file(dependencies: list[str]) -> str:
    """The staging copy's ``pyproject.toml``: TOML strings and arrays are written as JSON writes them."""
    return f"""[build-system]
requires = ["setuptools>=77"]
build-backend = "setuptools.build_meta"

[project]
name = "{NAME}"
dynamic = ["version"]
description = "The runtime of the TP_DL course's notebooks"
readme = "README.md"
requires-python = "{REQUIRES_PYTHON}"
license = "MIT"
license-files = ["LICENSE"]
dependencies = {json.dumps(dependencies, indent=4)}

[tool.setuptools]
packages = {json.dumps(list(PACKAGES))}

[tool.setuptools.dynamic]
version = {{ attr = "tpdl.__version__" }}

[tool.setuptools.package-data]
tpdl = {json.dumps(list(DATA))}
"""


def stage(staging: Path) -> None:
    """Copy the student runtime and the files describing it into ``staging``."""
    kit = paths.PACKAGE
    skip = shutil.ignore_patterns("__pycache__", "*.pyc")
    (staging / "tpdl").mkdir(parents=True)
    shutil.copy2(kit / "__init__.py", staging / "tpdl" / "__init__.py")
    for folder in ("core", "course", "locale", "fixtures"):
        shutil.copytree(kit / folder, staging / "tpdl" / folder, ignore=skip)
    shutil.copy2(kit.parent / "LICENSE", staging / "LICENSE")
    (staging / "README.md").write_text(DESCRIPTION)
    (staging / "pyproject.toml").write_text(project_file(pinned_dependencies()))


def staged_digest(staging: Path) -> str:
    """The SHA-256 of a staging copy: each file's path, mode and content, in path order."""
    hashed = hashlib.sha256()
    for path in sorted(staging.rglob("*")):
        if path.is_file():
            header = f"{path.relative_to(staging).as_posix()}\0{path.stat().st_mode:o}\0"
            hashed.update(header.encode() + path.read_bytes() + b"\0")
    return hashed.hexdigest()


def build(out: Path) -> Path:
    """Build the student wheel into ``out``, or reuse this process's build of the same files."""
    with tempfile.TemporaryDirectory(prefix="tpdl-wheel-") as scratch:
        staging, dist = Path(scratch) / NAME, Path(scratch) / "dist"
        stage(staging)
        key = staged_digest(staging)
        if key not in BUILT:
            built = run_build(staging, dist)
            BUILT[key] = (built.name, built.read_bytes())
    name, data = BUILT[key]
    out.mkdir(parents=True, exist_ok=True)
    (out / name).write_bytes(data)
    return out / name


def run_build(staging: Path, dist: Path) -> Path:
    """``python -m build --wheel`` on ``staging``, with the kit's setuptools and fixed dates."""
    command = [
        sys.executable,
        "-m",
        "build",
        "--wheel",
        "--no-isolation",
        "--outdir",
        str(dist),
        str(staging),
    ]
    env = os.environ | {"SOURCE_DATE_EPOCH": FIXED_DATE}
    done = subprocess.run(command, cwd=staging.parent, env=env, capture_output=True, text=True)
    wheels = list(dist.glob("*.whl"))
    if done.returncode != 0 or len(wheels) != 1:
        raise WheelError(f"python -m build failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return wheels[0]


def members(data: bytes) -> dict[str, bytes]:
    """Each file a wheel holds, by path, and its bytes."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist() if not name.endswith("/")}


def strays(names: list[str]) -> list[str]:
    """The files of a wheel that are neither the student runtime nor the wheel's own metadata."""
    return [name for name in names if not name.startswith(SHIPPED) and ".dist-info/" not in name]
