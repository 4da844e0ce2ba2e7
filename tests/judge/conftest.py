"""Fixtures of the judge's tests: a jail that imports nothing heavy, and a submission to give it."""

from pathlib import Path

import nbformat
import pytest

from tpdl.judge import sandbox

# Short limits: a worker that hangs costs seconds.
BARE_LIMITS = sandbox.Limits(memory_bytes=2 * 2**30, cpu_seconds=30, notebook_s=30.0, request_s=10.0)


@pytest.fixture(scope="module")
def bare_zygote():
    """A jail whose zygote preloads nothing: it starts in a second or two (no TensorFlow)."""
    with sandbox.Zygote(BARE_LIMITS, preload=()) as jail:
        yield jail


@pytest.fixture
def submission(tmp_path):
    """``submission(*cells)``: a submission folder holding ``n.ipynb`` made of these code cells."""

    def make(*cells: str) -> Path:
        folder = tmp_path / "submission"
        folder.mkdir()
        book = nbformat.v4.new_notebook()
        book.cells = [nbformat.v4.new_code_cell(code) for code in cells]
        nbformat.write(book, folder / "n.ipynb")
        return folder

    return make
