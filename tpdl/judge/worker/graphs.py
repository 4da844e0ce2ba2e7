"""The ``graphs`` worker: runs no student Python.

It evaluates and differentiates TensorFlow graphs traced from a student's functions by the
``notebook`` worker, and trains a probe with them in the kit's own loop, so that no patched
``GradientTape`` or ``fit`` of the student's can answer. A graph's operations are checked before
it is imported: no stateful operation but a few harmless ones.
"""

import socket
from typing import Any

from tpdl.core.i18n import KIT as _
from tpdl.judge import protocol
from tpdl.judge.worker.common import Refused, send_ready, serve

# Operations a traced loss may hold although TensorFlow marks them stateful; any other stateful
# operation (files, Python functions, variables, random state) is refused.
HARMLESS_STATEFUL = frozenset({"Assert", "PrintV2", "StatefulPartitionedCall"})


def _check_operations(graph_def: Any) -> None:
    from tensorflow.python.framework import op_def_registry

    nodes = list(graph_def.node) + [n for f in graph_def.library.function for n in f.node_def]
    for node in nodes:
        definition = op_def_registry.get(node.op)
        if definition is None and node.op not in {f.signature.name for f in graph_def.library.function}:
            raise Refused(
                "type",
                _("the traced graph uses an unknown operation {operation}", operation=repr(node.op[:60])),
            )
        if definition is not None and definition.is_stateful and node.op not in HARMLESS_STATEFUL:
            raise Refused(
                "type", _("the traced graph uses the stateful operation {operation}", operation=repr(node.op))
            )


def graph_function(graph: protocol.Graph) -> Any:
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
        raise Refused(
            "unreadable", _("the traced graph cannot be imported ({error})", error=type(error).__name__)
        ) from None


def graphs_worker(sock: socket.socket, spawn: protocol.Spawn) -> None:
    import numpy as np
    import tensorflow as tf

    send_ready(sock, protocol.Ready())

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
