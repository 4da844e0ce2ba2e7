"""The code that runs inside the sandbox: a zygote and the workers it forks.

The zygote imports the heavy libraries once (TensorFlow, Keras), runs no TensorFlow operation,
and forks one fresh worker per request of the judge. Each worker connects back to the judge over
a Unix socket in its control folder, waits until the judge has placed it in its control group,
drops to its own unprivileged user, installs its system-call filter (``tpdl.judge.seccomp``), sets its
resource limits, proves who it is (``tpdl.judge.protocol.Hello``) and then is one of:

* ``notebook``: executes the student's notebook (code cells not tagged to be skipped at grading,
  going on past cells that fail) and answers calls of the student's functions;
* ``models``: runs no student code at all; it loads saved Keras models with ``safe_mode=True``
  and answers questions about them (their layers, their predictions), reads MLflow tracking
  stores (SQLite files, opened read-only) into plain data, trains the kit's own reference models,
  and is the HTTP client of a service;
* ``graphs``: runs no student Python either; it evaluates and differentiates TensorFlow graphs
  traced from a student's functions by the notebook worker, and trains a probe with them in the
  kit's own loop, so that no patched ``GradientTape`` or ``fit`` of the student's can answer;
* ``cells``: runs a plain nbgrader notebook (an assignment without graders of the kit's) cell by
  cell, as a Jupyter kernel would, and answers each cell's outputs (``tpdl.judge.cells``);
* ``service``: serves the student's web application (a WSGI app from their ``app.py``) with
  gunicorn on a free port of the jail's loopback interface, until the judge stops it.

Every message is declared in ``tpdl.judge.protocol``; each worker has one handler per request it
serves. The zygote talks to the judge over its standard input and output, one JSON object a
line; students' code never runs in it.
"""

import contextlib
import ctypes
import json
import math
import os
import resource
import signal
import socket
import sys
import tempfile
import time
import traceback

from tpdl.core.i18n import KIT as _
from tpdl.judge import protocol, seccomp

SKIP_TAG = "skip-grading"
PR_SET_DUMPABLE = 4
PR_SET_NO_NEW_PRIVS = 38
MODELS_DIR = "_tpdl_models"
PLACED = b"\x01"  # the judge's go-ahead: this worker is in its control group


class Refused(Exception):
    """A request that gets an error answer (``kind`` and ``message`` as ``protocol.ErrorInfo``)."""

    def __init__(self, kind: str, message: str):
        super().__init__(message)
        self.kind, self.message = kind, message


def raised(error: BaseException) -> Refused:
    """What the student's code raised, as an answer: ``ValueError: the first line of its message``.

    A subclass of ``ValueError`` (an app's own ``BadInput``) is a ``ValueError``, as the specs ask."""
    text = str(error).strip().splitlines()
    detail = f": {text[0]}" if text else ""
    name = "ValueError" if isinstance(error, ValueError) else type(error).__name__
    return Refused("raised", f"{name}{detail}")


# --------------------------------------------------------------------------- worker set-up


def _prctl(option: int, value: int) -> None:
    ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)


def _limit(kind: int, value: int) -> None:
    resource.setrlimit(kind, (value, value))


def enter_worker(spec: dict) -> socket.socket:
    """Turn the freshly forked process into a confined worker, connected to the judge and introduced."""
    from tpdl.judge import wire

    os.setsid()
    control = spec["control"]
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(os.path.join(control, "sock"))
    # Nothing more runs until the judge has put this process in its control group (``tpdl.judge.cgroups``):
    # whatever it forks from now on is counted there.
    if sock.recv(1) != PLACED:
        os._exit(1)
    log = os.open(os.path.join(control, "output.log"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    uid = spec.get("uid")
    if uid is not None and os.getuid() == 0:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
    _prctl(PR_SET_NO_NEW_PRIVS, 1)
    if seccomp.unavailable() is None:  # else the judge said so when it started
        seccomp.confine(spec["kind"])  # what it may ask of the kernel, before anything of the student's runs
    limits = spec["limits"]
    _limit(resource.RLIMIT_AS, limits["address_space_bytes"])  # behind the control group's memory limit
    _limit(resource.RLIMIT_CPU, limits["cpu_seconds"])
    _limit(resource.RLIMIT_FSIZE, limits["file_bytes"])
    _limit(resource.RLIMIT_NPROC, limits["processes"])
    _limit(resource.RLIMIT_NOFILE, 256)
    _limit(resource.RLIMIT_CORE, 0)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a full log fails a write, it does not kill
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGPIPE):
        signal.signal(sig, signal.SIG_DFL)
    # Standard streams go to a capped log; nothing else of the zygote stays open.
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    keep = sock.fileno()
    os.closerange(3, keep)
    os.closerange(keep + 1, 1 << 16)
    sys.stdin = open(0, closefd=False)
    sys.stdout = open(1, "w", buffering=1, closefd=False)
    sys.stderr = open(2, "w", buffering=1, closefd=False)
    # The submission's visible sources are what runs: no bytecode is written (and none was handed
    # over: the intake drops it), so none can stand in for a source later.
    sys.dont_write_bytecode = True
    work = spec["work"]
    os.environ.clear()
    os.environ.update(spec["env"], HOME=work, PWD=work)
    if spec["kind"] in ("notebook", "cells"):
        sys.path.insert(0, work)  # as in a kernel, the notebook's folder is importable
    tempfile.tempdir = None  # forget a temporary folder chosen before the environment changed
    os.chdir(work)
    # The proof, sent before any student code runs; the key is forgotten at once.
    key = bytes.fromhex(spec.pop("key"))
    wire.send(
        sock, protocol.plain(protocol.Hello(token=spec["token"], proof=protocol.proof(key, spec["token"])))
    )
    return sock


# --------------------------------------------------------------------------- serving requests


def _send_answer(sock, nonce: str, value=None, error: Refused | None = None) -> None:
    from tpdl.judge import wire

    info = None if error is None else protocol.ErrorInfo(kind=error.kind, message=error.message[:600])
    try:
        wire.send(sock, protocol.answer_frame(nonce, value, info))
    except BaseException as problem:  # noqa: BLE001 - an __array__ or __iter__ of the student's raised
        info = protocol.ErrorInfo(
            kind="unsendable", message=_("the answer cannot be sent back: {problem}", problem=problem)[:600]
        )
        wire.send(sock, protocol.answer_frame(nonce, error=info))


def serve(sock, kind: str, handlers: dict) -> None:
    """Answer the judge's requests with ``handlers[type(request)](request)`` until it hangs up."""
    from tpdl.judge import wire

    while True:
        try:
            frame = wire.recv(sock)
        except EOFError:
            return
        nonce = frame.get("id", "") if isinstance(frame, dict) and isinstance(frame.get("id"), str) else ""
        try:
            nonce, request = protocol.parse_request(frame, kind)
            handler = handlers[type(request)]
        except (protocol.ProtocolError, KeyError) as error:
            _send_answer(sock, nonce, error=Refused("protocol", str(error)))
            continue
        try:
            value = handler(request)
        except Refused as refusal:
            _send_answer(sock, nonce, error=refusal)
            continue
        except BaseException as error:  # noqa: BLE001 - whatever the student's code (or its model) raised
            _send_answer(sock, nonce, error=raised(error))
            continue
        _send_answer(sock, nonce, value)


# --------------------------------------------------------------------------- notebook worker


class _Shell:
    """The little of IPython's ``get_ipython()`` that notebooks use, inert at grading."""

    def run_line_magic(self, *args, **kwargs):
        return None

    def run_cell_magic(self, *args, **kwargs):
        return None

    def system(self, *args, **kwargs):
        return None

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


def _cell_source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def execute_notebook(path: str, skip_tags: list[str]) -> tuple[dict, list[protocol.CellRecord]]:
    """Run the notebook's code cells in a fresh namespace; return it and a record per cell."""
    import matplotlib
    from IPython.core.inputtransformer2 import TransformerManager

    matplotlib.use("Agg")
    with open(path, encoding="utf-8") as handle:
        notebook = json.load(handle)
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells", []), list):
        raise ValueError(_("the file is not a notebook (no list of cells)"))
    shell = _Shell()
    namespace = {"__name__": "__main__", "__builtins__": __builtins__, "get_ipython": lambda: shell}
    transformer = TransformerManager()
    records = []
    code_cells = [
        c for c in notebook.get("cells", []) if isinstance(c, dict) and c.get("cell_type") == "code"
    ]
    for number, cell in enumerate(code_cells[: protocol.MAX_CELLS], start=1):
        metadata = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
        tags = metadata.get("tags") if isinstance(metadata.get("tags"), list) else []
        if any(tag in skip_tags for tag in tags):
            records.append(protocol.CellRecord(cell=number, status="skipped"))
            continue
        try:
            code = compile(transformer.transform_cell(_cell_source(cell)), f"<cell {number}>", "exec")
            exec(code, namespace)  # noqa: S102 - running the student's notebook is the point
        except BaseException as error:  # noqa: BLE001 - record and go on, as the kernel would
            refusal = raised(error)
            records.append(
                protocol.CellRecord(cell=number, status="error", kind="raised", message=refusal.message)
            )
            continue
        records.append(protocol.CellRecord(cell=number, status="ok"))
    return namespace, records


def _resolve(namespace: dict, value):
    """``value``, or the result of the student's function it describes (a ``wire.Call``), or the
    kit's probe model it names (a ``wire.Probe``)."""
    from tpdl.judge import wire

    if isinstance(value, wire.Probe):
        from tpdl.course import videos

        return videos.probe_model(value.part, **value.options)
    if not isinstance(value, wire.Call):
        return value
    return _function(namespace, value.name)(*value.args, **value.kwargs)


def _function(namespace: dict, name: str):
    function = namespace.get(name)
    if function is None:
        raise Refused("missing", _("{name} is not defined in your notebook", name=name))
    if not callable(function):
        raise Refused("missing", _("{name} is defined but is not a function", name=name))
    return function


def _arguments(namespace: dict, request) -> tuple[list, dict]:
    """The request's arguments, those described as calls replaced by what the student's functions return."""
    try:
        args = [_resolve(namespace, a) for a in request.args]
        kwargs = {k: _resolve(namespace, v) for k, v in request.kwargs.items()}
    except Refused:
        raise
    except BaseException as error:  # noqa: BLE001 - a student's function called for an argument raised
        raise raised(error) from None
    return args, kwargs


def _save_model(model, save_as: str, name: str) -> str:
    """Save ``model`` under ``MODELS_DIR`` for the judge; its path."""
    import keras

    if not isinstance(model, keras.Model):
        raise Refused(
            "type", _("{name} gave {type}, not a keras.Model", name=name, type=type(model).__name__)
        )
    os.makedirs(MODELS_DIR, exist_ok=True)
    path = os.path.join(MODELS_DIR, os.path.basename(save_as))
    try:
        model.save(path)
    except BaseException as error:  # noqa: BLE001 - a model of the student's that does not save
        raise raised(error) from None
    return path


def _as_tensors(values: list) -> list:
    import keras
    import numpy as np

    return [keras.ops.convert_to_tensor(v) if isinstance(v, np.ndarray) else v for v in values]


def _block_model(function, input_shapes: list, args: list, kwargs: dict):
    """``function`` applied to one ``keras.Input`` per shape (then ``args``), as a functional model."""
    import keras

    inputs = [keras.Input(shape=tuple(shape)) for shape in input_shapes]
    outputs = function(*inputs, *args, **kwargs)
    return keras.Model(inputs, list(outputs) if isinstance(outputs, (tuple, list)) else outputs)


def _describe_figure(figure, name: str) -> protocol.FigureDescription:
    """What a matplotlib figure shows: per axes its images' arrays, its titles, axis labels and tick
    labels, and whether a colour bar belongs to one of its images (``name`` returned it)."""
    import matplotlib.figure
    import numpy as np

    if not isinstance(figure, matplotlib.figure.Figure):
        raise Refused("type", _("{name}: returned {type}, not a matplotlib Figure", name=name,
                                type=type(figure).__name__))  # fmt: skip
    figure.canvas.draw()  # tick labels exist once drawn
    axes = []
    for ax in figure.axes:
        axes.append(protocol.AxesDescription(
            images=[np.asarray(image.get_array(), dtype=float) for image in ax.images],
            colorbar=any(image.colorbar is not None for image in ax.images),
            title=str(ax.get_title()), xlabel=str(ax.get_xlabel()), ylabel=str(ax.get_ylabel()),
            xticklabels=[str(t.get_text()) for t in ax.get_xticklabels()],
            yticklabels=[str(t.get_text()) for t in ax.get_yticklabels()],
        ))  # fmt: skip
    return protocol.FigureDescription(axes=axes)


def _export_graph(function, request: protocol.ExportGraph) -> protocol.Graph:
    """Trace ``function`` on tensors shaped like ``request.args`` into a serialised graph."""
    import numpy as np
    import tensorflow as tf

    specs = [
        tf.TensorSpec(
            (None, *a.shape[1:]) if request.free_batch and a.ndim else a.shape, tf.as_dtype(a.dtype)
        )
        for a in request.args
    ]
    kwargs = dict(request.kwargs)
    try:
        concrete = tf.function(lambda *tensors: function(*tensors, **kwargs)).get_concrete_function(*specs)
    except BaseException as error:  # noqa: BLE001 - not traceable: NumPy on tensors, a Python branch on values
        raise raised(error) from None
    if len(concrete.outputs) != 1:
        raise Refused("type", _("{name} should return one tensor, not {count}", name=request.name,
                                count=len(concrete.outputs)))  # fmt: skip
    graph_def = concrete.graph.as_graph_def().SerializeToString()
    return protocol.Graph(
        graph_def=np.frombuffer(graph_def, dtype=np.uint8).copy(),
        inputs=[t.name for t in concrete.inputs[: len(specs)]],
        output=concrete.outputs[0].name,
    )


def notebook_worker(sock, spec: dict) -> None:
    from tpdl.judge import wire

    try:
        namespace, records = execute_notebook(spec["notebook"], spec["skip_tags"])
    except BaseException as error:  # noqa: BLE001 - unreadable notebook
        refusal = raised(error)
        ready = protocol.NotebookReady(
            ok=False, error=protocol.ErrorInfo(kind="raised", message=refusal.message)
        )
        wire.send(sock, protocol.plain(ready))
        return
    wire.send(sock, protocol.plain(protocol.NotebookReady(ok=True, cells=records)))

    def call(request: protocol.Call) -> protocol.CallValue:
        function = _function(namespace, request.name)
        args, kwargs = _arguments(namespace, request)
        if request.tensors:
            args = _as_tensors(args)
        try:
            value = function(*args, **kwargs)
        except BaseException as error:  # noqa: BLE001 - the student's function raised
            raise raised(error) from None
        if request.discard_value:
            return protocol.CallValue(value=None)
        if request.return_inputs:  # the arguments as the call left them (did it change them?)
            import numpy as np

            # a random generator goes back as None: its state is no value to compare, and cannot be sent
            def back(now):
                return None if isinstance(now, np.random.Generator) else now

            args, kwargs = [back(a) for a in args], {k: back(v) for k, v in kwargs.items()}
            return protocol.CallValue(value=value, args=args, kwargs=kwargs)
        return protocol.CallValue(value=value)

    def unbound(request: protocol.Unbound) -> protocol.UnboundNames:
        from tpdl.judge import judge_state

        return protocol.UnboundNames(names=judge_state.unbound(namespace, request.functions))

    def build_model(request: protocol.BuildModel) -> str:
        function = _function(namespace, request.name)
        args, kwargs = _arguments(namespace, request)
        try:
            if request.symbolic_inputs is not None:  # a block of layers, applied to keras.Input
                value = _block_model(function, request.symbolic_inputs, args, kwargs)
            else:
                value = function(*args, **kwargs)
        except BaseException as error:  # noqa: BLE001
            raise raised(error) from None
        if request.part is not None:  # one model of several the function returns: (encoder, decoder)
            if not isinstance(value, (tuple, list)) or request.part >= len(value):
                raise Refused("type", _("{name} should return a tuple of models, not {type}", name=request.name,
                                        type=type(value).__name__))  # fmt: skip
            value = value[request.part]
        return _save_model(value, request.save_as, request.name)

    def train_model(request: protocol.TrainModel) -> protocol.History:
        import keras

        function = _function(namespace, request.name)
        model = _resolve(namespace, wire.Call(request.builder))
        args, kwargs = _arguments(namespace, request)
        try:
            value = function(model, *args, **kwargs)
        except BaseException as error:  # noqa: BLE001
            raise raised(error) from None
        if not isinstance(value, keras.callbacks.History):
            raise Refused("type", _("{name} returned {type}, not a keras History", name=request.name,
                                    type=type(value).__name__))  # fmt: skip
        _save_model(model, request.save_as, request.name)
        return protocol.History(
            history={str(k): [float(v) for v in vs] for k, vs in dict(value.history).items()},
            epoch=[int(e) for e in value.epoch],
        )

    def layer_call(request: protocol.LayerCall) -> protocol.LayerOutputs:
        import keras
        import numpy as np

        function = _function(namespace, request.name)
        try:
            layer = function(**request.init)
            if not isinstance(layer, keras.layers.Layer):
                raise Refused("type", _("{name} made a {type}, not a keras.layers.Layer", name=request.name,
                                        type=type(layer).__name__))  # fmt: skip
            args = _as_tensors(list(request.args))
            kwargs = dict(zip(request.kwargs, _as_tensors(list(request.kwargs.values()))))
            outputs = layer(*args, **kwargs)
            if request.weights is not None:
                layer.set_weights([np.asarray(w) for w in request.weights])
                outputs = layer(*args, **kwargs)
            plain = (
                [np.asarray(o) for o in outputs]
                if isinstance(outputs, (tuple, list))
                else np.asarray(outputs)
            )
            shapes = [list(np.shape(w)) for w in layer.get_weights()]
        except Refused:
            raise
        except BaseException as error:  # noqa: BLE001
            raise raised(error) from None
        return protocol.LayerOutputs(outputs=plain, weight_shapes=shapes)

    def describe_figure(request: protocol.DescribeFigure) -> protocol.FigureDescription:
        function = _function(namespace, request.name)
        args, kwargs = _arguments(namespace, request)
        try:
            figure = function(*args, **kwargs)
        except BaseException as error:  # noqa: BLE001
            raise raised(error) from None
        try:
            return _describe_figure(figure, request.name)
        except TypeError as error:
            raise Refused("type", f"{request.name}: {error}") from None

    def export_graph(request: protocol.ExportGraph) -> protocol.Graph:
        return _export_graph(_function(namespace, request.name), request)

    serve(sock, "notebook", {
        protocol.Call: call, protocol.BuildModel: build_model, protocol.TrainModel: train_model,
        protocol.LayerCall: layer_call, protocol.DescribeFigure: describe_figure,
        protocol.ExportGraph: export_graph, protocol.Unbound: unbound,
    })  # fmt: skip


# --------------------------------------------------------------------------- models worker


def _plain(value):
    """A JSON-plain copy of a Keras config (anything else becomes its repr)."""
    return json.loads(json.dumps(value, default=repr))


def _loss_name(loss) -> str | None:
    if loss is None or isinstance(loss, str):
        return loss
    return str(getattr(loss, "name", None) or getattr(loss, "__name__", None) or type(loss).__name__)


def _graph_facts(layer) -> dict:
    """Where a layer of a functional model takes its inputs from, and its output's shape."""
    try:
        nodes = getattr(layer, "_inbound_nodes", None) or []
        inbound = [str(parent.operation.name) for parent in nodes[0].parent_nodes] if nodes else []
    except Exception:  # noqa: BLE001 - a graph this reading does not follow: no inbound layers
        inbound = []
    try:
        output = layer.output
        shape = (
            _plain(tuple(output.shape))
            if hasattr(output, "shape")
            else [_plain(tuple(o.shape)) for o in output]
        )
    except Exception:  # noqa: BLE001 - a layer called more than once, or never
        shape = None
    return {"inbound": inbound, "output_shape": shape}


def _graph_operations(model) -> list:
    """The operations of a functional graph that are not layers, nested models' included: Keras 3
    records ``y + x`` or ``keras.ops.add(y, x)`` as an operation (class ``Add``, like the layer)."""
    import keras

    found, stack, seen = [], [model], set()
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        for operation in getattr(current, "operations", None) or []:
            if isinstance(operation, keras.Model):
                stack.append(operation)
            elif not isinstance(operation, keras.layers.Layer):
                found.append(operation)
    return found


def _metric_names(metrics, depth: int = 0) -> list[str]:
    """Every name in a compile config's ``metrics``: strings, and each serialised metric's class and
    name (lists and a dict per output walked, a few levels deep)."""
    if depth > 6:
        return []
    if isinstance(metrics, str):
        return [metrics]
    if isinstance(metrics, dict):
        names = [metrics["class_name"]] if isinstance(metrics.get("class_name"), str) else []
        config = metrics.get("config")
        if isinstance(config, dict) and isinstance(config.get("name"), str):
            names.append(config["name"])
        if not names:  # a dict per output
            names = [n for value in metrics.values() for n in _metric_names(value, depth + 1)]
        return names
    if isinstance(metrics, (list, tuple)):
        return [n for value in metrics for n in _metric_names(value, depth + 1)]
    return []


def _compiled_metrics(model) -> list[str]:
    try:
        config = model.get_compile_config() or {}
    except Exception:  # noqa: BLE001 - a model whose compile settings cannot be serialised
        return []
    names = _metric_names(config.get("metrics")) + _metric_names(config.get("weighted_metrics"))
    return [str(n)[:200] for n in names][:64]


def describe_model(model, compile_error: str | None = None) -> protocol.ModelDescription:
    """The facts graders check about a model (the graph: each layer's, or operation's, inbound
    layers). An operation that is not a layer is described like the layer that computes the same
    thing (``+`` as ``Add``), so that graders accept every construction of the same graph."""
    layers = [
        protocol.LayerDescription(
            class_name=type(layer).__name__,
            name=str(layer.name),
            config=_plain(layer.get_config()),
            **_graph_facts(layer),
        )  # fmt: skip
        for layer in [*model._flatten_layers(include_self=False, recursive=True), *_graph_operations(model)]
    ]
    compiled = getattr(model, "compiled", False) and model.optimizer is not None
    return protocol.ModelDescription(
        class_name=type(model).__name__,
        layers=layers,
        count_params=int(model.count_params()),
        trainable_params=int(sum(math.prod(w.shape) for w in model.trainable_weights)),
        input_shape=_plain(getattr(model, "input_shape", None)),
        output_shape=_plain(getattr(model, "output_shape", None)),
        compiled=bool(compiled),
        optimizer=type(model.optimizer).__name__ if compiled else None,
        loss=_loss_name(getattr(model, "loss", None)) if compiled else None,
        metrics=_compiled_metrics(model) if compiled else [],
        compile_error=compile_error,
    )


MAX_HTTP_BODY = protocol.MAX_BODY
MAX_METRIC_ROWS = 50_000
MAX_STORE_STEPS = 20_000  # thousands of SQLite instructions: far more than a real store needs
STORE_TABLES = ("experiments", "runs", "params", "metrics")


def read_tracking_store(path: str) -> protocol.TrackingStore:
    """The active runs of an MLflow SQLite store, newest first (read-only, no MLflow)."""
    import sqlite3

    uri = "file:" + path.replace("?", "%3f").replace("#", "%23") + "?mode=ro&immutable=1"
    budget = [MAX_STORE_STEPS]

    def spend() -> int:  # a crafted store cannot keep the worker busy: the query is interrupted
        budget[0] -= 1
        return 1 if budget[0] < 0 else 0

    def text(value) -> str:
        return value if isinstance(value, str) else str(value)

    with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
        db.text_factory = lambda raw: raw.decode("utf-8", errors="replace")
        db.execute("PRAGMA trusted_schema = OFF")
        db.execute("PRAGMA query_only = ON")
        db.set_progress_handler(spend, 1000)
        kinds = dict(
            db.execute("SELECT name, type FROM sqlite_master WHERE name IN (?, ?, ?, ?)", STORE_TABLES)
        )
        if any(kinds.get(name) != "table" for name in STORE_TABLES):
            raise ValueError(_("it should hold the tables {tables}", tables=", ".join(STORE_TABLES)))
        experiments = {text(k): text(v) for k, v in db.execute("SELECT experiment_id, name FROM experiments")}
        rows = db.execute(
            "SELECT run_uuid, name, status, start_time, end_time, experiment_id FROM runs "
            "WHERE lifecycle_stage = 'active' ORDER BY start_time DESC LIMIT ?",
            (protocol.MAX_RUNS,),
        ).fetchall()
        runs: dict[str, dict] = {}
        for run_id, name, status, start, end, experiment in rows:
            runs[text(run_id)] = {
                "run_id": text(run_id), "name": text(name or ""), "status": text(status),
                "experiment": experiments.get(text(experiment), ""), "experiment_id": text(experiment),
                "start_time": start if type(start) is int else None, "end_time": end if type(end) is int else None,
                "params": {}, "metrics": {},
            }  # fmt: skip
        if not runs:
            return protocol.TrackingStore(runs=[])
        marks = ",".join("?" * len(runs))
        for key, value, run_id in db.execute(
            f"SELECT key, value, run_uuid FROM params WHERE run_uuid IN ({marks})", list(runs)
        ):
            runs[text(run_id)]["params"][text(key)] = text(value)
        metrics = db.execute(
            f"SELECT key, step, value, timestamp, run_uuid FROM metrics WHERE run_uuid IN ({marks}) "
            "ORDER BY run_uuid, key, step, timestamp LIMIT ?",
            [*runs, MAX_METRIC_ROWS],
        )
        for key, step, value, _timestamp, run_id in metrics:
            runs[text(run_id)]["metrics"].setdefault(text(key), []).append((int(step), float(value)))
    return protocol.TrackingStore(runs=[protocol.RunRecord(**run) for run in runs.values()])


def models_worker(sock, spec: dict) -> None:
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)  # a service that hangs up is an answer, not a crash
    import keras
    import numpy as np

    from tpdl.judge import wire

    wire.send(sock, protocol.plain(protocol.Ready()))
    models = {}
    work = os.path.realpath(spec["work"])

    def inside(relative: str) -> str:
        path = os.path.realpath(os.path.join(work, relative))
        if not path.startswith(work + os.sep):
            raise Refused("protocol", "path outside the submission")
        if not os.path.isfile(path):
            raise Refused("missing", _("{file} is not in your submission", file=relative))
        return path

    def model_of(key: str):
        if key not in models:
            raise Refused("protocol", "no such model loaded")
        return models[key]

    def load_model(request: protocol.LoadModel) -> protocol.ModelDescription:
        path = inside(request.path)
        compile_error = None
        try:
            models[request.key] = keras.saving.load_model(path, safe_mode=True)
        except BaseException as error:  # noqa: BLE001 - a model file that does not load
            try:  # compiled with the student's own loss, say: the network itself may still load
                models[request.key] = keras.saving.load_model(path, safe_mode=True, compile=False)
            except BaseException:  # noqa: BLE001 - the network does not load either
                raise raised(error) from None
            compile_error = raised(error).message
        return describe_model(models[request.key], compile_error)

    def predict(request: protocol.Predict):
        model = model_of(request.key)
        x, batch = request.x, request.batch_size
        inputs = x if isinstance(x, list) else [x]  # a model of several inputs takes a list
        count = len(inputs[0]) if inputs else 0
        chunks = [model([a[i : i + batch] for a in inputs] if isinstance(x, list) else x[i : i + batch],
                        training=False) for i in range(0, count, batch)]  # fmt: skip
        if chunks and isinstance(chunks[0], (list, tuple)):
            return [np.concatenate([np.asarray(c[k]) for c in chunks]) for k in range(len(chunks[0]))]
        return np.concatenate([np.asarray(c) for c in chunks]) if chunks else np.zeros((0,))

    def get_weights(request: protocol.GetWeights) -> list:
        return [np.asarray(w) for w in model_of(request.key).get_weights()]

    def set_weights(request: protocol.SetWeights) -> None:
        model_of(request.key).set_weights(request.weights)

    def tracking_runs(request: protocol.TrackingRuns) -> protocol.TrackingStore:
        path = inside(request.path)
        try:
            return read_tracking_store(path)
        except Exception as error:  # noqa: BLE001 - not a store, or not one of MLflow's
            raise Refused("unreadable", _("{file} is not an MLflow tracking store: {error}", file=request.path,
                                          error=error)) from None  # fmt: skip

    def http(request: protocol.Http) -> list:
        return [http_exchange(request.port, exchange) for exchange in request.exchanges]

    def train_mlp(request: protocol.TrainMLP) -> protocol.History:
        from tpdl.course import experiments

        history = experiments.train_mlp(request.config, (request.x_train, request.y_train, request.x_val,
                                        request.y_val), request.epochs, request.batch_size, request.seed)  # fmt: skip
        return protocol.History(history=history, epoch=list(range(request.epochs)))

    serve(sock, "models", {
        protocol.LoadModel: load_model, protocol.Predict: predict, protocol.GetWeights: get_weights,
        protocol.SetWeights: set_weights, protocol.TrackingRuns: tracking_runs, protocol.Http: http,
        protocol.TrainMLP: train_mlp,
    })  # fmt: skip


def http_exchange(port: int, exchange: protocol.HttpExchange) -> protocol.HttpAnswer:
    """One HTTP request to the service on ``port``; its status, content type, body (as text) and time."""
    import http.client

    body = exchange.body
    data = body.tobytes() if hasattr(body, "tobytes") else (body.encode() if isinstance(body, str) else None)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=exchange.timeout_s)
    started = time.perf_counter()
    try:
        try:
            connection.request(exchange.method, exchange.path, body=data, headers=exchange.headers)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered (413, say) and hung up before the whole body was sent: read it
        response = connection.getresponse()
        payload = response.read(MAX_HTTP_BODY + 1)
    except (OSError, http.client.HTTPException, ValueError) as error:
        return protocol.HttpAnswer(
            error=f"{type(error).__name__}: {error}", seconds=time.perf_counter() - started
        )
    finally:
        connection.close()
    status = response.status if 100 <= response.status <= 999 else None
    return protocol.HttpAnswer(
        status=status, content_type=str(response.getheader("Content-Type", ""))[: protocol.MAX_TEXT],
        body=payload[:MAX_HTTP_BODY].decode("utf-8", errors="replace"), truncated=len(payload) > MAX_HTTP_BODY,
        seconds=time.perf_counter() - started,
    )  # fmt: skip


# --------------------------------------------------------------------------- graphs worker

# Operations a traced loss may hold although TensorFlow marks them stateful; any other stateful
# operation (files, Python functions, variables, random state) is refused.
HARMLESS_STATEFUL = frozenset({"Assert", "PrintV2", "StatefulPartitionedCall"})


def _check_operations(graph_def) -> None:
    from tensorflow.python.framework import op_def_registry

    nodes = list(graph_def.node) + [n for f in graph_def.library.function for n in f.node_def]
    for node in nodes:
        definition = op_def_registry.get(node.op)
        if definition is None and node.op not in {f.signature.name for f in graph_def.library.function}:
            raise Refused("type", _("the traced graph uses an unknown operation {operation}",
                                    operation=repr(node.op[:60])))  # fmt: skip
        if definition is not None and definition.is_stateful and node.op not in HARMLESS_STATEFUL:
            raise Refused("type", _("the traced graph uses the stateful operation {operation}",
                                    operation=repr(node.op)))  # fmt: skip


def graph_function(graph: protocol.Graph):
    """The traced graph as a callable of its inputs (tensors), its operations checked first."""
    import tensorflow as tf

    graph_def = tf.compat.v1.GraphDef()
    try:
        graph_def.ParseFromString(graph.graph_def.tobytes())
    except Exception as error:  # noqa: BLE001 - not a GraphDef
        raise Refused(
            "unreadable", _("the traced graph cannot be read ({error})", error=type(error).__name__)
        ) from None
    _check_operations(graph_def)
    try:
        wrapped = tf.compat.v1.wrap_function(lambda: tf.graph_util.import_graph_def(graph_def, name=""), [])
        feeds = [wrapped.graph.get_tensor_by_name(name) for name in graph.inputs]
        return wrapped.prune(feeds=feeds, fetches=wrapped.graph.get_tensor_by_name(graph.output))
    except Exception as error:  # noqa: BLE001 - a graph that does not import
        raise Refused("unreadable", _("the traced graph cannot be imported ({error})",
                                      error=type(error).__name__)) from None  # fmt: skip


def graphs_worker(sock, spec: dict) -> None:
    import numpy as np
    import tensorflow as tf

    from tpdl.judge import wire

    wire.send(sock, protocol.plain(protocol.Ready()))

    def graph_gradient(request: protocol.GraphGradient) -> protocol.GradientValue:
        function = graph_function(request.graph)
        tensors = [tf.constant(a) for a in request.args]
        if request.index >= len(tensors) or not tensors[request.index].dtype.is_floating:
            raise Refused("type", _("the gradient is taken with respect to a floating-point input"))
        with tf.GradientTape() as tape:
            tape.watch(tensors[request.index])
            value = function(*tensors)
            total = tf.reduce_sum(tf.cast(value, tf.float64))
        gradient = tape.gradient(total, tensors[request.index])
        return protocol.GradientValue(
            value=np.asarray(value), gradient=None if gradient is None else np.asarray(gradient)
        )

    def graph_fit(request: protocol.GraphFit) -> protocol.ProbeFit:
        import keras

        loss = graph_function(request.loss) if request.loss is not None else None
        metrics = {name: graph_function(graph) for name, graph in request.metrics.items()}
        x, y = request.x.astype(np.float32), request.y.astype(np.float32)
        rng = np.random.default_rng(request.seed)
        kernel = tf.Variable(rng.normal(0, 0.1, (3, 3, x.shape[-1], 1)).astype(np.float32))
        bias = tf.Variable(np.zeros(1, np.float32))
        optimizer = keras.optimizers.Adam(request.learning_rate)
        history: dict[str, list[float]] = {"loss": [], **{name: [] for name in metrics}}
        for _epoch in range(request.epochs):
            sums = dict.fromkeys(history, 0.0)
            batches = range(0, len(x), request.batch_size)
            for start in batches:
                xb, yb = (
                    tf.constant(x[start : start + request.batch_size]),
                    tf.constant(y[start : start + request.batch_size]),
                )
                with tf.GradientTape() as tape:
                    predicted = tf.sigmoid(tf.nn.conv2d(xb, kernel, 1, "SAME") + bias)
                    value = (
                        loss(yb, predicted)
                        if loss
                        else tf.reduce_mean(keras.losses.binary_crossentropy(yb, predicted))
                    )
                    value = tf.reduce_mean(tf.cast(value, tf.float32))
                gradients = tape.gradient(value, [kernel, bias])
                if any(g is None for g in gradients):
                    raise Refused("type", _("no gradient flows from the loss to the model's weights"))
                optimizer.apply(gradients, [kernel, bias])
                sums["loss"] += float(value)
                for name, metric in metrics.items():
                    sums[name] += float(tf.reduce_mean(tf.cast(metric(yb, predicted), tf.float32)))
            for name in history:
                history[name].append(sums[name] / len(batches))
        return protocol.ProbeFit(history=history, weights=[kernel.numpy(), bias.numpy()])

    serve(sock, "graphs", {protocol.GraphGradient: graph_gradient, protocol.GraphFit: graph_fit})


# --------------------------------------------------------------------------- cells worker


def cells_worker(sock, spec: dict) -> None:
    """Run a plain nbgrader notebook's cells one by one, as a Jupyter kernel would (``tpdl.judge.cells``)."""
    from tpdl.judge import cells, wire

    run_cell = cells.start()
    wire.send(sock, protocol.plain(protocol.Ready()))
    serve(sock, "cells", {protocol.RunCell: run_cell})


# --------------------------------------------------------------------------- service worker


def service_worker(sock, spec: dict) -> None:
    """Serve ``module.factory(*args)`` from the submission with gunicorn on a free loopback port."""
    import importlib

    from gunicorn.app.base import BaseApplication

    from tpdl.judge import wire

    options = spec["options"]
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.set_inheritable(True)
    port = listener.getsockname()[1]
    sys.path.insert(0, spec["work"])

    class Service(BaseApplication):
        def load_config(self):
            for key, value in {"bind": [f"fd://{listener.fileno()}"], "workers": 1, "timeout": 60,
                               "graceful_timeout": 1, "accesslog": None, "errorlog": "-",
                               "worker_tmp_dir": os.environ.get("TMPDIR", "/tmp")}.items():  # fmt: skip
                self.cfg.set(key, value)

        def load(self):  # in gunicorn's worker process, after the fork: the student's code
            module = importlib.import_module(options["module"])
            factory = getattr(module, options["factory"])
            return factory(*options.get("args", []))

    wire.send(sock, protocol.plain(protocol.ServiceReady(port=port)))
    Service().run()


# --------------------------------------------------------------------------- zygote


WORKERS = {
    "notebook": notebook_worker,
    "models": models_worker,
    "graphs": graphs_worker,
    "service": service_worker,
    "cells": cells_worker,
}


def _run_child(spec: dict) -> None:
    """The body of a forked worker; it never returns."""
    code = 0
    try:
        sock = enter_worker(spec)
        WORKERS[spec["kind"]](sock, spec)
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else 1
    except BaseException:  # noqa: BLE001 - report, then leave
        traceback.print_exc()
        code = 70
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _describe_status(status: int) -> dict:
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        return {"signal": number, "signal_name": signal.Signals(number).name}
    return {"exit_code": os.WEXITSTATUS(status)}


def _kill_user(uid: int) -> bool:
    """Kill every process of ``uid`` from a helper that becomes that user: ``kill(-1)`` reaches all
    of them in one pass of the kernel, however fast they fork. Whether the helper ran."""
    if os.getuid() != 0 or uid <= 0:
        return False
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            os.kill(-1, signal.SIGKILL)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    return True


def zygote(preload: list[str]) -> None:
    """Import ``preload`` once, then fork a worker per ``spawn`` request read from stdin."""
    # The zygote's own output is the judge's control channel: keep libraries off it.
    control_out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    sys.dont_write_bytecode = True
    started = time.monotonic()
    for module in preload:
        __import__(module)
    import pydantic  # noqa: F401 - the protocol's validation, ready before forking

    import tpdl.judge.wire  # noqa: F401

    # The catalogue of the students' messages read once, before forking (if it cannot be, each
    # worker tries again when it has something to say).
    with contextlib.suppress(Exception):
        _.translate("")
    _prctl(PR_SET_DUMPABLE, 0)  # workers cannot read or trace the zygote
    seccomp.leave_session_keyring()  # no worker ever holds the judge's keys
    children: dict[str, int] = {}
    control_out.write(json.dumps({"ready": True, "import_s": round(time.monotonic() - started, 2)}) + "\n")
    for line in sys.stdin:
        request = json.loads(line)
        op = request["op"]
        if op == "spawn":
            pid = os.fork()
            if pid == 0:
                control_out.close()
                _run_child(request)
            request.pop("key", None)
            children[request["token"]] = pid
            answer = {"token": request["token"], "pid": pid}
        elif op == "reap":
            pid = children.get(request["token"])
            answer = {"token": request["token"], "status": None}
            deadline = time.monotonic() + float(request.get("wait_s", 2.0))
            while pid is not None:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    answer["status"] = _describe_status(status)
                    children.pop(request["token"])
                    break
                if time.monotonic() > deadline:
                    break
                time.sleep(0.02)
        elif op == "kill_users":
            answer = {"killed": [uid for uid in request["uids"] if _kill_user(int(uid))]}
        else:
            answer = {"error": f"unknown operation {op!r}"}
        # Reap any other worker that ended, so that none lingers as a zombie.
        for token, pid in list(children.items()):
            if token != request.get("token") and os.waitpid(pid, os.WNOHANG)[0]:
                children.pop(token)
        control_out.write(json.dumps(answer) + "\n")


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "zygote":
        zygote([m for m in sys.argv[2:] if m])
    else:
        sys.exit("usage: python -m tpdl.judge.worker zygote [MODULE ...]")
