"""The sandbox's stand-in for a Jupyter kernel (``tpdl.judge.cells``), as nbgrader's ``Execute`` drives it
(``tpdl.classroom.plain.SandboxedExecute``): a kernel's outputs, its timeouts and interrupts, its death."""

import nbformat
import pytest
from nbclient.exceptions import CellTimeoutError

from tpdl.classroom import plain

pytestmark = pytest.mark.slow  # each notebook starts a jail of its own (a few seconds)


def run(tmp_path, *sources: str, **settings) -> list[list[dict]]:
    """The outputs of each cell of a notebook of ``sources``, executed in ``tmp_path`` as autograde does."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in sources])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    executed, _resources = plain.SandboxedExecute(**settings).preprocess(
        notebook, {"metadata": {"path": str(tmp_path)}}
    )
    return [cell.outputs for cell in executed.cells]


def errors(outputs: list[dict]) -> list[str]:
    return [output["ename"] for output in outputs if output["output_type"] == "error"]


def test_outputs_are_those_a_kernel_sends(tmp_path):
    """Streams, the last expression's value, rich displays and errors, in order; files written kept."""
    printed, shown, failed, wrote = run(
        tmp_path,
        "import sys\nprint('out')\nprint('err', file=sys.stderr)\n6 * 7",
        "from IPython.display import HTML, display\ndisplay(HTML('<b>bold</b>'))",
        "1 / 0",
        "import os\nopen('kept.txt', 'w').write('kept')\nos.symlink('/etc/passwd', 'link')",
    )
    assert [(o["output_type"], o.get("name")) for o in printed] == [
        ("stream", "stdout"),
        ("stream", "stderr"),
        ("execute_result", None),
    ]
    assert printed[2]["data"]["text/plain"] == "42" and printed[2]["execution_count"] == 1
    assert shown[0]["output_type"] == "display_data" and shown[0]["data"]["text/html"] == "<b>bold</b>"
    assert errors(failed) == ["ZeroDivisionError"] and failed[0]["evalue"] == "division by zero"
    assert not errors(wrote)
    assert (tmp_path / "kept.txt").read_text() == "kept"
    assert not (tmp_path / "link").exists() and not (tmp_path / "link").is_symlink()


def test_a_cell_past_its_timeout_is_interrupted_and_the_next_cells_run(tmp_path):
    looped, after = run(tmp_path, "while True:\n    pass", "x = 1\nx", timeout=1)
    assert errors(looped) == ["KeyboardInterrupt", "CellTimeoutError"]
    assert not errors(after) and after[0]["data"]["text/plain"] == "1"


def test_a_cell_that_ignores_the_interrupt_stops_its_process_and_the_later_cells(tmp_path, monkeypatch):
    monkeypatch.setattr(plain, "INTERRUPT_GRACE_S", 1.0)
    deaf, later = run(
        tmp_path,
        "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass",
        "assert True",
        timeout=1,
    )
    assert errors(deaf) == [plain.DEAD, "CellTimeoutError"]
    assert errors(later) == [plain.DEAD]  # a test cell that did not run earns nothing


def test_a_process_that_exits_fails_its_cell_and_the_later_cells(tmp_path):
    ended, later = run(tmp_path, "import os\nos._exit(0)", "print('never')")
    assert errors(ended) == [plain.DEAD] and "exited with status 0" in ended[0]["evalue"]
    assert errors(later) == [plain.DEAD]


def test_without_interrupts_a_timeout_fails_the_notebook_as_nbgrader_does(tmp_path):
    with pytest.raises(CellTimeoutError):
        run(tmp_path, "import time\ntime.sleep(30)", timeout=1, interrupt_on_timeout=False)
