"""The ``models`` worker: runs no student code at all.

It loads saved Keras models with ``safe_mode=True`` and answers questions about them (their layers,
their predictions), reads MLflow tracking stores (SQLite files, opened read-only) into plain data,
trains the kit's own reference models, and is the HTTP client of a ``service`` worker.
"""

import json
import math
import os
import signal
import socket
import time
from typing import Any

from tpdl.core.i18n import KIT as _
from tpdl.judge import protocol
from tpdl.judge.tracking_store import read_tracking_store
from tpdl.judge.worker.common import Refused, raised, send_ready, serve

MAX_HTTP_BODY = protocol.MAX_BODY


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
        )
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


def models_worker(sock: socket.socket, spawn: protocol.Spawn) -> None:
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)  # a service that hangs up is an answer, not a crash
    import keras
    import numpy as np

    send_ready(sock, protocol.Ready())
    models: dict[str, Any] = {}
    work = os.path.realpath(spawn.work)

    def inside(relative: str) -> str:
        path = os.path.realpath(os.path.join(work, relative))
        if not path.startswith(work + os.sep):
            raise Refused("protocol", _("{file} is outside your submission", file=relative))
        if not os.path.isfile(path):
            raise Refused("missing", _("{file} is not in your submission", file=relative))
        return path

    def model_of(key: str):
        if key not in models:
            raise Refused("protocol", _("no model is loaded under {key}", key=key))
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
        chunks = [
            model(
                [a[i : i + batch] for a in inputs] if isinstance(x, list) else x[i : i + batch],
                training=False,
            )
            for i in range(0, count, batch)
        ]
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
            raise Refused(
                "unreadable",
                _("{file} is not an MLflow tracking store: {error}", file=request.path, error=error),
            ) from None

    def http(request: protocol.Http) -> list:
        return [http_exchange(request.port, exchange) for exchange in request.exchanges]

    def train_mlp(request: protocol.TrainMLP) -> protocol.History:
        from tpdl.course import experiments

        history = experiments.train_mlp(
            request.config,
            (request.x_train, request.y_train, request.x_val, request.y_val),
            request.epochs,
            request.batch_size,
            request.seed,
        )
        return protocol.History(history=history, epoch=list(range(request.epochs)))

    serve(
        sock,
        "models",
        {
            protocol.LoadModel: load_model,
            protocol.Predict: predict,
            protocol.GetWeights: get_weights,
            protocol.SetWeights: set_weights,
            protocol.TrackingRuns: tracking_runs,
            protocol.Http: http,
            protocol.TrainMLP: train_mlp,
        },
    )


def http_exchange(port: int, exchange: protocol.HttpExchange) -> protocol.HttpAnswer:
    """One HTTP request to the service on ``port``; its status, content type, body (as text) and time."""
    import http.client

    body = exchange.body
    data = body.encode() if isinstance(body, str) else (None if body is None else body.tobytes())
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
        status=status,
        content_type=str(response.getheader("Content-Type", ""))[: protocol.MAX_TEXT],
        body=payload[:MAX_HTTP_BODY].decode("utf-8", errors="replace"),
        truncated=len(payload) > MAX_HTTP_BODY,
        seconds=time.perf_counter() - started,
    )
