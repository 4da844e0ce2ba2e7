"""The code that runs inside the sandbox: a zygote and the workers it forks.

The zygote imports the heavy libraries once (TensorFlow, Keras), runs no TensorFlow operation,
and forks one fresh worker per request of the judge. Each worker drops to its own unprivileged
user, sets its resource limits, connects back to the judge over a Unix socket in its control
folder, and then either

* ``notebook``: executes the student's notebook (code cells not tagged to be skipped at grading,
  going on past cells that fail) and answers calls of the student's functions, or
* ``models``: runs no student code at all; it loads saved Keras models with ``safe_mode=True``
  and answers questions about them (their layers, their predictions), reads MLflow tracking
  stores (SQLite files, opened read-only) into plain data, and is the HTTP client of a service;
* ``service``: serves the student's web application (a WSGI app from their ``app.py``) with
  gunicorn on a free port of the jail's loopback interface, until the judge stops it.

Everything a worker sends back is plain data (``tpdl.wire``). The zygote talks to the judge over
its standard input and output, one JSON object a line; students' code never runs in it.
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

SKIP_TAG = "skip-grading"
PR_SET_DUMPABLE = 4
PR_SET_NO_NEW_PRIVS = 38
MODELS_DIR = "_tpdl_models"
MAX_MESSAGE_CHARS = 600


# --------------------------------------------------------------------------- worker set-up


def _prctl(option: int, value: int) -> None:
    ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)


def _limit(kind: int, value: int) -> None:
    resource.setrlimit(kind, (value, value))


def enter_worker(spec: dict) -> socket.socket:
    """Turn the freshly forked process into a confined worker and connect it to the judge."""
    os.setsid()
    control = spec["control"]
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.connect(os.path.join(control, "sock"))
    log = os.open(os.path.join(control, "output.log"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    uid = spec.get("uid")
    if uid is not None and os.getuid() == 0:
        os.setgroups([])
        os.setresgid(uid, uid, uid)
        os.setresuid(uid, uid, uid)
    _prctl(PR_SET_NO_NEW_PRIVS, 1)
    limits = spec["limits"]
    _limit(resource.RLIMIT_AS, limits["memory_bytes"])
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
    work = spec["work"]
    os.environ.clear()
    os.environ.update(spec["env"], HOME=work, PWD=work)
    if spec["kind"] == "notebook":
        sys.path.insert(0, work)  # as in a kernel, the notebook's folder is importable
    tempfile.tempdir = None  # forget a temporary folder chosen before the environment changed
    os.chdir(work)
    return sock


# --------------------------------------------------------------------------- answers


def _error(kind: str, message: str) -> dict:
    return {"ok": False, "error": {"kind": kind, "message": message[:MAX_MESSAGE_CHARS]}}


def _raised(error: BaseException) -> dict:
    text = str(error).strip().splitlines()
    detail = f": {text[0]}" if text else ""
    return _error("raised", f"{type(error).__name__}{detail}")


def _reply(sock, answer: dict) -> None:
    from tpdl import wire

    try:
        wire.send(sock, answer)
    except BaseException as error:  # noqa: BLE001 - an __array__ or __iter__ of the student's raised
        wire.send(
            sock, {**_error("unsendable", f"the answer cannot be sent back: {error}"), "id": answer.get("id")}
        )


def serve(sock, handle) -> None:
    """Answer the judge's requests with ``handle(request) -> dict`` until it hangs up."""
    from tpdl import wire

    while True:
        try:
            request = wire.recv(sock)
        except EOFError:
            return
        try:
            answer = handle(request)
        except BaseException as error:  # noqa: BLE001 - whatever the student's code raised
            answer = _raised(error)
        _reply(sock, {**answer, "id": request.get("id")})


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


def execute_notebook(path: str, skip_tags: list[str]) -> tuple[dict, list[dict]]:
    """Run the notebook's code cells in a fresh namespace; return it and a record per cell."""
    import matplotlib
    from IPython.core.inputtransformer2 import TransformerManager

    matplotlib.use("Agg")
    with open(path, encoding="utf-8") as handle:
        notebook = json.load(handle)
    shell = _Shell()
    namespace = {"__name__": "__main__", "__builtins__": __builtins__, "get_ipython": lambda: shell}
    transformer = TransformerManager()
    records = []
    code_cells = [c for c in notebook.get("cells", []) if c.get("cell_type") == "code"]
    for number, cell in enumerate(code_cells, start=1):
        tags = cell.get("metadata", {}).get("tags", [])
        if any(tag in skip_tags for tag in tags):
            records.append({"cell": number, "status": "skipped"})
            continue
        try:
            code = compile(transformer.transform_cell(_cell_source(cell)), f"<cell {number}>", "exec")
            exec(code, namespace)  # noqa: S102 - running the student's notebook is the point
        except BaseException as error:  # noqa: BLE001 - record and go on, as the kernel would
            records.append({"cell": number, "status": "error", **_raised(error)["error"]})
            continue
        records.append({"cell": number, "status": "ok"})
    return namespace, records


def _resolve(namespace: dict, value):
    """``value``, or the result of the student's function it describes (a ``wire.Call``), or the
    kit's probe model it names (a ``wire.Probe``)."""
    from tpdl import wire

    if isinstance(value, wire.Probe):
        from tpdl import videos

        return videos.probe_model(value.part, **value.options)
    if not isinstance(value, wire.Call):
        return value
    function = namespace.get(value.name)
    if not callable(function):
        raise NameError(f"{value.name} is not defined in your notebook")
    return function(*value.args, **value.kwargs)


def _save_model(model, save_as: str, name: str) -> dict:
    """Save ``model`` under ``MODELS_DIR`` for the judge; an error answer if it is not a model."""
    import keras

    if not isinstance(model, keras.Model):
        return _error("type", f"{name} gave {type(model).__name__}, not a keras.Model")
    os.makedirs(MODELS_DIR, exist_ok=True)
    path = os.path.join(MODELS_DIR, os.path.basename(save_as))
    model.save(path)
    return {"ok": True, "value": path}


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


def _layer_call(layer, spec: dict) -> dict:
    """Call ``layer`` on ``spec["args"]`` (which builds it); with ``spec["weights"]``, set them and call
    again. The outputs (an array, or a list for a tuple) and the shapes of the layer's weights."""
    import keras
    import numpy as np

    if not isinstance(layer, keras.layers.Layer):
        raise TypeError(f"{type(layer).__name__} is not a keras.layers.Layer")
    args = _as_tensors(list(spec.get("args", [])))
    kwargs = dict(spec.get("kwargs", {}))
    kwargs = dict(zip(kwargs, _as_tensors(list(kwargs.values()))))
    outputs = layer(*args, **kwargs)
    if spec.get("weights") is not None:
        layer.set_weights([np.asarray(w) for w in spec["weights"]])
        outputs = layer(*args, **kwargs)
    plain = [np.asarray(o) for o in outputs] if isinstance(outputs, (tuple, list)) else np.asarray(outputs)
    return {"outputs": plain, "weight_shapes": [list(np.shape(w)) for w in layer.get_weights()]}


def _describe_figure(figure) -> dict:
    """What a matplotlib figure shows, as plain data: per axes its images' arrays, its titles,
    axis labels and tick labels, and whether a colour bar belongs to one of its images."""
    import matplotlib.figure
    import numpy as np

    if not isinstance(figure, matplotlib.figure.Figure):
        raise TypeError(f"returned {type(figure).__name__}, not a matplotlib Figure")
    figure.canvas.draw()  # tick labels exist once drawn
    axes = []
    for ax in figure.axes:
        axes.append({
            "images": [np.asarray(image.get_array(), dtype=float) for image in ax.images],
            "colorbar": any(image.colorbar is not None for image in ax.images),
            "title": ax.get_title(), "xlabel": ax.get_xlabel(), "ylabel": ax.get_ylabel(),
            "xticklabels": [t.get_text() for t in ax.get_xticklabels()],
            "yticklabels": [t.get_text() for t in ax.get_yticklabels()],
        })  # fmt: skip
    return {"axes": axes}


def _with_gradient(function, args: list, kwargs: dict, index: int) -> dict:
    """The value of ``function`` and the gradient of its sum with respect to argument ``index``
    (None when the value does not depend on it differentiably)."""
    import numpy as np
    import tensorflow as tf

    variable = tf.Variable(np.asarray(args[index]))
    args = [*args[:index], variable, *args[index + 1 :]]
    with tf.GradientTape() as tape:
        value = function(*args, **kwargs)
        total = tf.reduce_sum(tf.convert_to_tensor(value)) if tf.is_tensor(value) else None
    gradient = None if total is None else tape.gradient(total, variable)
    return {"value": np.asarray(value), "gradient": None if gradient is None else np.asarray(gradient)}


def _fit_probe(namespace: dict, request: dict) -> dict:
    """Train a one-convolution model compiled with the student's loss and metrics; its history."""
    import keras

    names = [*([request["loss"]] if request["loss"] else []), *request["metrics"]]
    missing = [n for n in names if not callable(namespace.get(n))]
    if missing:
        return _error("missing", f"{', '.join(missing)} is not defined in your notebook")
    loss = namespace[request["loss"]] if request["loss"] else "binary_crossentropy"
    x, y = request["x"], request["y"]
    try:
        keras.utils.set_random_seed(0)
        model = keras.Sequential(
            [keras.Input(x.shape[1:]), keras.layers.Conv2D(1, 3, padding="same", activation="sigmoid")]
        )
        model.compile(optimizer=keras.optimizers.Adam(float(request.get("learning_rate", 0.05))),
                      loss=loss, metrics=[namespace[n] for n in request["metrics"]])  # fmt: skip
        history = model.fit(x, y, epochs=int(request["epochs"]), batch_size=8, verbose=0)
    except BaseException as error:  # noqa: BLE001 - the student's loss or metric failed inside fit
        return _raised(error)
    return {"ok": True, "value": {k: [float(v) for v in vs] for k, vs in history.history.items()}}


def notebook_worker(sock, spec: dict) -> None:
    from tpdl import wire

    try:
        namespace, records = execute_notebook(spec["notebook"], spec["skip_tags"])
    except BaseException as error:  # noqa: BLE001 - unreadable notebook
        wire.send(sock, {"ok": False, "error": _raised(error)["error"], "cells": []})
        return
    wire.send(sock, {"ok": True, "cells": records})

    def handle(request: dict) -> dict:
        if request.get("op") == "fit_probe":
            return _fit_probe(namespace, request)
        if request.get("op") != "call":
            return _error("protocol", f"unknown operation {request.get('op')!r}")
        name = request["name"]
        function = namespace.get(name)
        if function is None:
            return _error("missing", f"{name} is not defined in your notebook")
        if not callable(function):
            return _error("missing", f"{name} is defined but is not a function")
        try:
            # Arguments described as calls are the results of the student's own functions.
            args = [_resolve(namespace, a) for a in request.get("args", ())]
            kwargs = {k: _resolve(namespace, v) for k, v in dict(request.get("kwargs", {})).items()}
            if request.get("tensors"):  # arrays given as the backend's tensors
                args = _as_tensors(args)
            if request.get("symbolic_inputs") is not None:  # a block of layers, applied to keras.Input
                value = _block_model(function, request["symbolic_inputs"], args, kwargs)
            elif request.get("layer_call") is not None:  # a layer class: made, built, given weights, called
                value = _layer_call(function(*args, **kwargs), request["layer_call"])
            elif request.get("gradient") is not None:
                value = _with_gradient(function, args, kwargs, int(request["gradient"]))
            else:
                value = function(*args, **kwargs)
        except BaseException as error:  # noqa: BLE001 - the student's function raised
            return _raised(error)
        saved_argument = request.get("save_argument")
        if saved_argument:  # a model the call changed (trained), saved for the models worker
            answer = _save_model(args[int(saved_argument["index"])], saved_argument["as"], name)
            if not answer["ok"]:
                return answer
        if request.get("returns") == "figure":
            try:
                value = _describe_figure(value)
            except TypeError as error:
                return _error("type", f"{name}: {error}")
        if request.get("returns") == "history":
            import keras

            if not isinstance(value, keras.callbacks.History):
                return _error("type", f"{name} returned {type(value).__name__}, not a keras History")
            value = {"history": {k: [float(v) for v in vs] for k, vs in value.history.items()},
                     "epoch": [int(e) for e in value.epoch]}  # fmt: skip
        if request.get("return_inputs"):  # the arguments as the call left them (did it change them?)
            return {"ok": True, "value": value, "inputs": {"args": args, "kwargs": kwargs}}
        save_as = request.get("save_model")
        if save_as:
            part = request.get("part")
            if part is not None:  # one model of several the function returns: (encoder, decoder)
                if not isinstance(value, (tuple, list)) or not 0 <= int(part) < len(value):
                    return _error(
                        "type", f"{name} should return a tuple of models, not {type(value).__name__}"
                    )
                value = value[int(part)]
            return _save_model(value, save_as, name)
        return {"ok": True, "value": value}

    serve(sock, handle)


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
        inbound = [parent.operation.name for parent in nodes[0].parent_nodes] if nodes else []
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


def describe_model(model) -> dict:
    """The facts graders check about a model, as plain data (the graph: each layer's inbound layers)."""
    layers = [
        {
            "class_name": type(layer).__name__,
            "name": layer.name,
            "config": _plain(layer.get_config()),
            **_graph_facts(layer),
        }  # fmt: skip
        for layer in model._flatten_layers(include_self=False, recursive=True)
    ]
    compiled = getattr(model, "compiled", False) and model.optimizer is not None
    return {
        "class_name": type(model).__name__,
        "layers": layers,
        "count_params": int(model.count_params()),
        "trainable_params": int(sum(math.prod(w.shape) for w in model.trainable_weights)),
        "input_shape": _plain(getattr(model, "input_shape", None)),
        "output_shape": _plain(getattr(model, "output_shape", None)),
        "compiled": bool(compiled),
        "optimizer": type(model.optimizer).__name__ if compiled else None,
        "loss": _loss_name(getattr(model, "loss", None)) if compiled else None,
    }


MAX_HTTP_BODY = 2 * 2**20
MAX_RUNS = 200
MAX_METRIC_ROWS = 50_000
MAX_STORE_STEPS = 20_000  # thousands of SQLite instructions: far more than a real store needs
STORE_TABLES = ("experiments", "runs", "params", "metrics")


def read_tracking_store(path: str) -> dict:
    """The active runs of an MLflow SQLite store, newest first, as plain data (read-only, no MLflow)."""
    import sqlite3

    uri = "file:" + path.replace("?", "%3f").replace("#", "%23") + "?mode=ro&immutable=1"
    budget = [MAX_STORE_STEPS]

    def spend() -> int:  # a crafted store cannot keep the worker busy: the query is interrupted
        budget[0] -= 1
        return 1 if budget[0] < 0 else 0

    with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
        db.execute("PRAGMA trusted_schema = OFF")
        db.execute("PRAGMA query_only = ON")
        db.set_progress_handler(spend, 1000)
        kinds = dict(
            db.execute("SELECT name, type FROM sqlite_master WHERE name IN (?, ?, ?, ?)", STORE_TABLES)
        )
        if any(kinds.get(name) != "table" for name in STORE_TABLES):
            raise ValueError(f"it should hold the tables {', '.join(STORE_TABLES)}")
        experiments = dict(db.execute("SELECT experiment_id, name FROM experiments"))
        rows = db.execute(
            "SELECT run_uuid, name, status, start_time, end_time, experiment_id FROM runs "
            "WHERE lifecycle_stage = 'active' ORDER BY start_time DESC LIMIT ?",
            (MAX_RUNS,),
        ).fetchall()
        runs = {}
        for run_id, name, status, start, end, experiment in rows:
            runs[run_id] = {
                "run_id": str(run_id), "name": str(name or ""), "status": str(status),
                "experiment": str(experiments.get(experiment, "")), "experiment_id": str(experiment), "start_time": start, "end_time": end,
                "params": {}, "metrics": {},
            }  # fmt: skip
        if not runs:
            return {"runs": []}
        marks = ",".join("?" * len(runs))
        for key, value, run_id in db.execute(
            f"SELECT key, value, run_uuid FROM params WHERE run_uuid IN ({marks})", list(runs)
        ):
            runs[run_id]["params"][str(key)] = str(value)
        metrics = db.execute(
            f"SELECT key, step, value, timestamp, run_uuid FROM metrics WHERE run_uuid IN ({marks}) "
            "ORDER BY run_uuid, key, step, timestamp LIMIT ?",
            [*runs, MAX_METRIC_ROWS],
        )
        for key, step, value, _, run_id in metrics:
            runs[run_id]["metrics"].setdefault(str(key), []).append([int(step), float(value)])
    return {"runs": list(runs.values())}


def models_worker(sock, spec: dict) -> None:
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)  # a service that hangs up is an answer, not a crash
    import keras
    import numpy as np

    from tpdl import wire

    wire.send(sock, {"ok": True, "cells": []})
    models = {}
    work = os.path.realpath(spec["work"])

    def inside(relative: str) -> str | None:
        path = os.path.realpath(os.path.join(work, relative))
        return path if path.startswith(work + os.sep) else None

    def handle(request: dict) -> dict:
        op = request.get("op")
        if op in ("load", "tracking_runs"):
            path = inside(request["path"])
            if path is None:
                return _error("protocol", "path outside the submission")
            if not os.path.isfile(path):
                return _error("missing", f"{request['path']} is not in your submission")
        if op == "http":  # the client of a service worker in the same jail
            return {
                "ok": True,
                "value": [http_exchange(int(request["port"]), e) for e in request["exchanges"]],
            }
        if op == "tracking_runs":
            try:
                return {"ok": True, "value": read_tracking_store(path)}
            except Exception as error:  # noqa: BLE001 - not a store, or not one of MLflow's
                return _error("unreadable", f"{request['path']} is not an MLflow tracking store: {error}")
        if op == "load":
            compile_error = None
            try:
                models[request["key"]] = keras.saving.load_model(path, safe_mode=True)
            except BaseException as error:  # noqa: BLE001 - a model file that does not load
                try:  # compiled with the student's own loss, say: the network itself may still load
                    models[request["key"]] = keras.saving.load_model(path, safe_mode=True, compile=False)
                except BaseException:  # noqa: BLE001 - the network does not load either
                    return _raised(error)
                compile_error = _raised(error)["error"]["message"]
            return {
                "ok": True,
                "value": {**describe_model(models[request["key"]]), "compile_error": compile_error},
            }
        model = models.get(request.get("key"))
        if model is None:
            return _error("protocol", "no such model loaded")
        if op == "predict":  # an array, or a list of arrays for a model of several outputs
            x, batch = request["x"], int(request.get("batch_size", 256))
            inputs = x if isinstance(x, list) else [x]  # a model of several inputs takes a list
            count = len(inputs[0]) if inputs else 0
            chunks = [model([a[i : i + batch] for a in inputs] if isinstance(x, list) else x[i : i + batch],
                            training=False) for i in range(0, count, batch)]  # fmt: skip
            if chunks and isinstance(chunks[0], (list, tuple)):
                value = [np.concatenate([np.asarray(c[k]) for c in chunks]) for k in range(len(chunks[0]))]
            else:
                value = np.concatenate([np.asarray(c) for c in chunks]) if chunks else np.zeros((0,))
            return {"ok": True, "value": value}
        if op == "set_weights":
            model.set_weights(request["weights"])
            return {"ok": True, "value": None}
        if op == "get_weights":
            return {"ok": True, "value": [np.asarray(w) for w in model.get_weights()]}
        return _error("protocol", f"unknown operation {op!r}")

    serve(sock, handle)


# --------------------------------------------------------------------------- zygote


# --------------------------------------------------------------------------- service worker


def service_worker(sock, spec: dict) -> None:
    """Serve ``module.factory(*args)`` from the submission with gunicorn on a free loopback port."""
    import importlib

    from gunicorn.app.base import BaseApplication

    from tpdl import wire

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

    wire.send(sock, {"ok": True, "port": port, "cells": []})
    Service().run()


def http_exchange(port: int, exchange: dict) -> dict:
    """One HTTP request to the service on ``port``; its status, content type, body (as text) and time."""
    import http.client

    body = exchange.get("body")
    data = body.tobytes() if hasattr(body, "tobytes") else (body.encode() if isinstance(body, str) else None)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=float(exchange.get("timeout_s", 30)))
    started = time.perf_counter()
    try:
        try:
            connection.request(
                exchange["method"], exchange["path"], body=data, headers=exchange.get("headers", {})
            )
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered (413, say) and hung up before the whole body was sent: read it
        response = connection.getresponse()
        payload = response.read(MAX_HTTP_BODY + 1)
    except (OSError, http.client.HTTPException) as error:
        return {
            "status": None,
            "error": f"{type(error).__name__}: {error}",
            "seconds": time.perf_counter() - started,
        }
    finally:
        connection.close()
    return {
        "status": response.status, "content_type": response.getheader("Content-Type", ""),
        "body": payload[:MAX_HTTP_BODY].decode("utf-8", errors="replace"), "truncated": len(payload) > MAX_HTTP_BODY,
        "seconds": time.perf_counter() - started,
    }  # fmt: skip


def _run_child(spec: dict) -> None:
    """The body of a forked worker; it never returns."""
    code = 0
    try:
        sock = enter_worker(spec)
        {"notebook": notebook_worker, "models": models_worker, "service": service_worker}[spec["kind"]](
            sock, spec
        )
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


def zygote(preload: list[str]) -> None:
    """Import ``preload`` once, then fork a worker per ``spawn`` request read from stdin."""
    # The zygote's own output is the judge's control channel: keep libraries off it.
    control_out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    started = time.monotonic()
    for module in preload:
        __import__(module)
    import tpdl.wire  # noqa: F401 - ready before forking

    _prctl(PR_SET_DUMPABLE, 0)  # workers cannot read or trace the zygote
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
        sys.exit("usage: python -m tpdl.worker zygote [MODULE ...]")
