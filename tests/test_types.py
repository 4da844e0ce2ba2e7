"""Does mypy find the types of the judge, the protocol and the grading layer consistent?

One run over ``[tool.mypy]``'s packages in pyproject.toml (``tpdl.judge``, ``tpdl.grading``), as
pre-commit's hook and CONTRIBUTING.md run it.
"""

import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_mypy_checks_the_judge_and_the_grading_layer():
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]["packages"]
    assert {"tpdl.judge", "tpdl.grading"} <= set(packages)


def test_mypy_finds_no_error(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / "mypy")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Success" in done.stdout
