"""The ``cells`` worker: a notebook run cell by cell, as a Jupyter kernel runs it, inside the sandbox.

nbgrader grades a plain assignment (one without ``graders/<name>/``) from the outputs of its cells:
a test cell that shows an error, or writes to stderr, earns nothing. For such an assignment the
kit runs the cells in this worker instead of a Jupyter kernel (``tpdl.classroom.plain``): an IPython shell
(magics, ``!`` commands, the displayed value of a cell's last expression, rich displays, inline
figures, IPython's tracebacks) whose outputs are kept per cell in the shapes a kernel sends them
(``stream``, ``display_data``, ``execute_result``, ``error``) and answered as a
``tpdl.judge.protocol.CellRun``, with the cell's reply (``ok``, or the error it raised, however the
shell showed it). The judge interrupts a cell that runs past its time with ``SIGINT``, as Jupyter
interrupts a kernel: only a running cell gets the ``KeyboardInterrupt``.
"""

import io
import json
import linecache
import os
import signal
from collections.abc import Callable

from tpdl.judge import protocol

# Beyond these, a cell's outputs are cut (what a kernel would have streamed is not kept whole).
MAX_TEXT = protocol.MAX_OUTPUT_TEXT  # characters of one cell's outputs together
MAX_OUTPUTS = protocol.MAX_OUTPUTS
CUT = "\n... output cut by the grading sandbox ...\n"
INLINE_BACKEND = "module://matplotlib_inline.backend_inline"


def _json(value):
    """``value`` as plain JSON (what a display's data may hold), or None if it is not JSON."""
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError, RecursionError):
        return None


def _mime_value(mime: str, value):
    """What a display holds for ``mime`` as a notebook keeps it, or None if it cannot be kept: any
    JSON for a JSON type, text otherwise (a list of lines joined)."""
    if not protocol.MIME_TYPE.fullmatch(mime):
        return None
    if mime == "application/json" or mime.endswith("+json"):
        return _json(value)
    if isinstance(value, list) and all(isinstance(line, str) for line in value):
        return "".join(value)
    return value if isinstance(value, str) else None


class Outputs:
    """One cell's outputs, in order, as a kernel would have sent them (bounded)."""

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        self.items: list[dict] = []
        self.size = 0
        self.cut = False
        self.clear_on_next = False  # ``clear_output(wait=True)``: clear when the next output comes

    def _room(self, size: int) -> bool:
        if self.clear_on_next:
            self.items, self.size, self.clear_on_next = [], 0, False
        if self.cut:
            return False
        if self.size + size > MAX_TEXT or len(self.items) >= MAX_OUTPUTS - 1:
            self.items.append({"output_type": "stream", "name": "stderr", "text": CUT})
            self.cut = True
            return False
        self.size += size
        return True

    def stream(self, name: str, text: str) -> None:
        if not text or not self._room(len(text)):
            return
        last = self.items[-1] if self.items else None
        if last is not None and last["output_type"] == "stream" and last["name"] == name:
            last["text"] += text  # a kernel's stream is coalesced the same way
        else:
            self.items.append({"output_type": "stream", "name": name, "text": text})

    def display(self, kind: str, data: dict, metadata: dict | None, count: int | None = None) -> None:
        bundle = {}
        for mime, value in (data or {}).items():
            kept = _mime_value(str(mime), value)
            if kept is not None:
                bundle[str(mime)] = kept
        extra = (_json(metadata) if isinstance(metadata, dict) else None) or {}
        size = len(json.dumps(bundle)) + len(json.dumps(extra))
        if not bundle or not self._room(size):
            return
        output = {"output_type": kind, "data": bundle, "metadata": extra}
        if kind == "execute_result":
            output["execution_count"] = count
        self.items.append(output)

    def error(self, ename: str, evalue: str, traceback: list[str]) -> None:
        lines = [str(line) for line in traceback][: protocol.MAX_TRACEBACK]
        if self._room(len(ename) + len(evalue) + sum(len(line) for line in lines)):
            self.items.append({"output_type": "error", "ename": ename, "evalue": evalue, "traceback": lines})

    def clear(self, wait: bool) -> None:
        if wait:
            self.clear_on_next = True
        else:
            self.items, self.size = [], 0


class _Stream(io.TextIOBase):
    """``sys.stdout`` or ``sys.stderr`` of a cell: what it writes becomes the cell's stream output."""

    encoding = "utf-8"

    def __init__(self, outputs: Outputs, name: str):
        super().__init__()
        self.outputs, self.name = outputs, name

    def writable(self) -> bool:
        return True

    def write(self, text) -> int:
        text = str(text)
        self.outputs.stream(self.name, text)
        return len(text)


def _error_text(error: BaseException) -> str:
    try:
        return str(error)
    except Exception:  # noqa: BLE001 - a student's exception whose __str__ raises
        return ""


def make_shell(outputs: Outputs):
    """An IPython shell whose every output lands in ``outputs``."""
    from IPython.core.displayhook import DisplayHook
    from IPython.core.displaypub import DisplayPublisher
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    class Hook(DisplayHook):
        def write_output_prompt(self):
            pass

        def write_format_data(self, format_dict, md_dict=None):
            outputs.display("execute_result", format_dict, md_dict, self.prompt_count)

    class Publisher(DisplayPublisher):
        def publish(self, data, metadata=None, source=None, *, transient=None, update=False, **kwargs):
            if not update:  # an update of an earlier display changes nothing of this cell's outputs
                outputs.display("display_data", data, metadata)

        def clear_output(self, wait=False):
            outputs.clear(wait)

    class Shell(InteractiveShell):
        def _showtraceback(self, etype, evalue, stb):
            outputs.error(getattr(etype, "__name__", str(etype)), _error_text(evalue), stb)

    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    shell = Shell.instance(config=config, displayhook_class=Hook, display_pub_class=Publisher)
    # a ``!`` command's output is the cell's, as in a kernel (an instance's method replaced on purpose)
    shell.system = shell.system_piped  # type: ignore[method-assign]
    return shell


def _forget(shell, count: int, cached: set[str]) -> None:
    """Leave no trace of cell ``count``'s source where later cells could read it: the shell's
    history (``In``, ``_ih``, ``_i``...) and the line cache its tracebacks are made from. A test
    cell's hidden tests are not for the student's code to print into the graded notebook."""
    history = shell.history_manager
    for hist in (history.input_hist_parsed, history.input_hist_raw):
        if count < len(hist):
            hist[count] = ""
    for name in ("_i", "_ii", "_iii", f"_i{count}"):
        shell.user_ns.pop(name, None)
    for name in ("_i00", "_i", "_ii", "_iii"):  # what the next cells' ``_i``, ``_ii``, ``_iii`` are made of
        setattr(history, name, "")
    for name in set(linecache.cache) - cached:
        linecache.cache.pop(name, None)


def start() -> Callable[[protocol.RunCell], protocol.CellRun]:
    """Make this worker a kernel's stand-in; the handler of :class:`tpdl.judge.protocol.RunCell` (one cell
    after the other, in one namespace)."""
    import sys

    private = os.environ["TMPDIR"]
    # What libraries write in a home folder stays in the worker's own temporary folder: only what
    # the notebook writes in its working folder is kept (nbgrader keeps it beside the graded notebook).
    os.environ.update(
        HOME=private,
        IPYTHONDIR=os.path.join(private, "ipython"),
        MPLCONFIGDIR=private,
        MPLBACKEND=INLINE_BACKEND,
    )
    outputs = Outputs()
    shell = make_shell(outputs)
    running = [False]

    def interrupt(_signal, _frame):
        if running[0]:
            raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupt)

    def run_cell(request: protocol.RunCell) -> protocol.CellRun:
        outputs.reset()
        count = shell.execution_count
        streams = sys.stdout, sys.stderr
        sys.stdout, sys.stderr = _Stream(outputs, "stdout"), _Stream(outputs, "stderr")
        cached = set(linecache.cache)
        try:
            running[0] = True
            result = shell.run_cell(request.source, store_history=True)
            running[0] = False
            error = result.error_before_exec or result.error_in_exec
        except BaseException as problem:  # noqa: BLE001 - the shell itself failed (patched by the cell), or was interrupted
            running[0] = False
            error = problem
        finally:
            sys.stdout, sys.stderr = streams
            if request.forget:
                _forget(shell, count, cached)
        shown = [o for o in outputs.items if o["output_type"] == "error"]
        return protocol.CellRun(
            outputs=outputs.items,  # type: ignore[arg-type]  # plain dicts: pydantic checks them into outputs
            execution_count=count,
            status="ok" if error is None else "error",
            ename="" if error is None else type(error).__name__,
            evalue="" if error is None else _error_text(error)[:MAX_TEXT],
            traceback=shown[-1]["traceback"] if shown and error is not None else [],
        )

    return run_cell
