"""The ``notebook`` worker: runs the student's notebook, then answers calls of the student's functions.

The notebook's code cells run in one fresh namespace (cells tagged ``skip-grading`` are not run, and
a cell that fails does not stop the ones after it); each request then calls a function of that
namespace, builds or trains a model with it, describes a figure it draws, or traces it into a graph
for the ``graphs`` worker (``tpdl.judge.worker.graphs``).
"""

import json
import os
import socket
import sys
from typing import Any

from tpdl.core.i18n import KIT as _
from tpdl.judge import judge_state, protocol, wire
from tpdl.judge.judge_state import SKIP_TAG
from tpdl.judge.worker.common import Refused, raised, send_ready, serve, students_code


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
        metadata = cell.get("metadata")
        listed = metadata.get("tags") if isinstance(metadata, dict) else None
        tags = listed if isinstance(listed, list) else []
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


def _resolve(namespace: dict, value: Any) -> Any:
    """``value``, or the result of the student's function it describes (a ``wire.Call``), or the
    kit's probe model it names (a ``wire.Probe``)."""
    if isinstance(value, wire.Probe):
        from tpdl.course import videos  # TensorFlow's: the zygote imported it, a host's validation need not

        return videos.probe_model(value.part, **value.options)
    if not isinstance(value, wire.Call):
        return value
    function = _function(namespace, value.name)
    with students_code():
        return function(*value.args, **value.kwargs)


def _function(namespace: dict, name: str) -> Any:
    function = namespace.get(name)
    if function is None:
        raise Refused("missing", _("{name} is not defined in your notebook", name=name))
    if not callable(function):
        raise Refused("missing", _("{name} is defined but is not a function", name=name))
    return function


def _arguments(namespace: dict, request: Any) -> tuple[list, dict]:
    """The request's arguments, those described as calls replaced by what the student's functions return."""
    args = [_resolve(namespace, a) for a in request.args]
    kwargs = {k: _resolve(namespace, v) for k, v in request.kwargs.items()}
    return args, kwargs


def _save_model(model: Any, save_as: str, name: str) -> str:
    """Save ``model`` under ``protocol.MODELS_DIR`` for the judge; its path."""
    import keras

    if not isinstance(model, keras.Model):
        raise Refused(
            "type", _("{name} gave {type}, not a keras.Model", name=name, type=type(model).__name__)
        )
    os.makedirs(protocol.MODELS_DIR, exist_ok=True)
    path = os.path.join(protocol.MODELS_DIR, os.path.basename(save_as))
    with students_code():  # a model of the student's that does not save
        model.save(path)
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
        raise Refused(
            "type",
            _("{name}: returned {type}, not a matplotlib Figure", name=name, type=type(figure).__name__),
        )
    figure.canvas.draw()  # tick labels exist once drawn
    axes = []
    for ax in figure.axes:
        axes.append(
            protocol.AxesDescription(
                images=[np.asarray(image.get_array(), dtype=float) for image in ax.images],
                colorbar=any(image.colorbar is not None for image in ax.images),
                title=str(ax.get_title()),
                xlabel=str(ax.get_xlabel()),
                ylabel=str(ax.get_ylabel()),
                xticklabels=[str(t.get_text()) for t in ax.get_xticklabels()],
                yticklabels=[str(t.get_text()) for t in ax.get_yticklabels()],
            )
        )
    return protocol.FigureDescription(axes=axes)


def _export_graph(function: Any, request: protocol.ExportGraph) -> protocol.Graph:
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
    with students_code():  # not traceable: NumPy on tensors, a Python branch on values
        concrete = tf.function(lambda *tensors: function(*tensors, **kwargs)).get_concrete_function(*specs)
    if len(concrete.outputs) != 1:
        raise Refused(
            "type",
            _("{name} should return one tensor, not {count}", name=request.name, count=len(concrete.outputs)),
        )
    graph_def = concrete.graph.as_graph_def().SerializeToString()
    return protocol.Graph(
        graph_def=np.frombuffer(graph_def, dtype=np.uint8).copy(),
        inputs=[t.name for t in concrete.inputs[: len(specs)]],
        output=concrete.outputs[0].name,
    )


def notebook_worker(sock: socket.socket, spawn: protocol.Spawn) -> None:
    try:
        namespace, records = execute_notebook(spawn.notebook or "", spawn.skip_tags)
    except BaseException as error:  # noqa: BLE001 - unreadable notebook
        refusal = raised(error)
        error_info = protocol.ErrorInfo(kind="raised", message=refusal.message)
        send_ready(sock, protocol.NotebookReady(ok=False, error=error_info))
        return
    send_ready(sock, protocol.NotebookReady(ok=True, cells=records))

    def call(request: protocol.Call) -> protocol.CallValue:
        function = _function(namespace, request.name)
        args, kwargs = _arguments(namespace, request)
        if request.tensors:
            args = _as_tensors(args)
        with students_code():
            value = function(*args, **kwargs)
        if request.discard_value:
            return protocol.CallValue(value=None)
        if request.return_inputs:  # the arguments as the call left them (did it change them?)
            import numpy as np

            # a random generator goes back as None: its state is no value to compare, and cannot be sent
            def back(now: Any) -> Any:
                return None if isinstance(now, np.random.Generator) else now

            args, kwargs = [back(a) for a in args], {k: back(v) for k, v in kwargs.items()}
            return protocol.CallValue(value=value, args=args, kwargs=kwargs)
        return protocol.CallValue(value=value)

    def unbound(request: protocol.Unbound) -> protocol.UnboundNames:
        return protocol.UnboundNames(names=judge_state.unbound(namespace, request.functions))

    def build_model(request: protocol.BuildModel) -> str:
        function = _function(namespace, request.name)
        args, kwargs = _arguments(namespace, request)
        with students_code():
            if request.symbolic_inputs is not None:  # a block of layers, applied to keras.Input
                value = _block_model(function, request.symbolic_inputs, args, kwargs)
            else:
                value = function(*args, **kwargs)
        if request.part is not None:  # one model of several the function returns: (encoder, decoder)
            if not isinstance(value, (tuple, list)) or request.part >= len(value):
                raise Refused(
                    "type",
                    _(
                        "{name} should return a tuple of models, not {type}",
                        name=request.name,
                        type=type(value).__name__,
                    ),
                )
            value = value[request.part]
        return _save_model(value, request.save_as, request.name)

    def train_model(request: protocol.TrainModel) -> protocol.History:
        import keras

        function = _function(namespace, request.name)
        model = _resolve(namespace, wire.Call(request.builder))
        args, kwargs = _arguments(namespace, request)
        with students_code():
            value = function(model, *args, **kwargs)
        if not isinstance(value, keras.callbacks.History):
            raise Refused(
                "type",
                _(
                    "{name} returned {type}, not a keras History",
                    name=request.name,
                    type=type(value).__name__,
                ),
            )
        _save_model(model, request.save_as, request.name)
        return protocol.History(
            history={str(k): [float(v) for v in vs] for k, vs in dict(value.history).items()},
            epoch=[int(e) for e in value.epoch],
        )

    def layer_call(request: protocol.LayerCall) -> protocol.LayerOutputs:
        import keras
        import numpy as np

        function = _function(namespace, request.name)
        with students_code():
            layer = function(**request.init)
        if not isinstance(layer, keras.layers.Layer):
            raise Refused(
                "type",
                _(
                    "{name} made a {type}, not a keras.layers.Layer",
                    name=request.name,
                    type=type(layer).__name__,
                ),
            )
        with students_code():
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
        return protocol.LayerOutputs(outputs=plain, weight_shapes=shapes)

    def describe_figure(request: protocol.DescribeFigure) -> protocol.FigureDescription:
        function = _function(namespace, request.name)
        args, kwargs = _arguments(namespace, request)
        with students_code():
            figure = function(*args, **kwargs)
        try:
            return _describe_figure(figure, request.name)
        except TypeError as error:  # an artist of the student's that does not draw
            raise Refused(
                "type",
                _("{name} returned a figure that cannot be drawn: {error}", name=request.name, error=error),
            ) from None

    def export_graph(request: protocol.ExportGraph) -> protocol.Graph:
        return _export_graph(_function(namespace, request.name), request)

    serve(
        sock,
        "notebook",
        {
            protocol.Call: call,
            protocol.BuildModel: build_model,
            protocol.TrainModel: train_model,
            protocol.LayerCall: layer_call,
            protocol.DescribeFigure: describe_figure,
            protocol.ExportGraph: export_graph,
            protocol.Unbound: unbound,
        },
    )


# --------------------------------------------------------------------------- run here (validation)


def run_here(notebook_path: str) -> dict:
    """Run the notebook as the judge does, in this process, and analyse the state it leaves:
    ``{"cells": [CellRecord as dicts], "unbound": {function: [names]}}`` (``judge_state.Apart``)."""
    with open(notebook_path, encoding="utf-8") as handle:
        notebook = json.load(handle)
    namespace, records = execute_notebook(notebook_path, [SKIP_TAG])
    functions = judge_state.solution_functions(judge_state.code_cells(notebook))
    return {
        "cells": [protocol.plain(record) for record in records],
        "unbound": judge_state.unbound(namespace, functions),
    }


if __name__ == "__main__":
    state = run_here(sys.argv[1])
    with open(sys.argv[2], "w", encoding="utf-8") as answer:
        json.dump(state, answer)
