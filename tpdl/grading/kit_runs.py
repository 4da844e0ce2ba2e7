"""Differentiation and training measured by the kit where no student code runs: the student's
functions traced into graphs in the notebook worker, then differentiated or trained in the graphs
worker; and the kit's own reference runs, made in a worker that sees nothing of the submission."""

import hashlib

import numpy as np

from tpdl.core.i18n import KIT as _
from tpdl.grading import reference_runs
from tpdl.grading.calls import NotebookCalls, failure
from tpdl.judge import protocol, sandbox, wire
from tpdl.judge.session import StudentCodeError

# The kit's reference runs this judge process made, by the digest of their request (no student input).
REFERENCE_RUNS: dict[str, dict] = {}
MAX_REFERENCE_RUNS = 64
# A reference run's length is set by the graders, not by the student (TP2's full-budget run of 10
# epochs on 10,000 images: about 6 s on 2 idle cores, 15 s on busy ones): it may take this long
# whatever the request limit the submission's workers have.
REFERENCE_RUN_S = 120.0


def request_digest(request: protocol.Request) -> str:
    """The digest of ``request``: its arrays by dtype, shape and bytes (hashed where they lie, not
    encoded first), its other fields as the wire writes them."""
    digest = hashlib.sha256(type(request).__name__.encode())
    for name, value in request.model_dump().items():
        if isinstance(value, np.ndarray):
            array = np.ascontiguousarray(value)
            digest.update(wire.dumps([name, array.dtype.name, list(array.shape)]))
            digest.update(array.data)
        else:
            digest.update(wire.dumps([name, value]))
    return digest.hexdigest()


class KitRuns(NotebookCalls):
    """What a grader measures with the kit's own code: gradients, a probe's training, reference runs."""

    def traced(self, name: str, args: list, kwargs: dict, free_batch: bool = False) -> protocol.Graph | None:
        """The student's function traced into a graph, or None where it cannot be (NumPy on tensors)."""
        arrays = [np.asarray(a) for a in args]
        try:
            return self.session.ask_notebook(
                protocol.ExportGraph(name=name, args=arrays, kwargs=kwargs, free_batch=free_batch), name
            )
        except sandbox.WorkerError as error:
            if error.kind == "raised" and error.message.startswith("NotImplementedError"):
                raise failure(name, error) from None
            if error.kind == "missing":
                raise StudentCodeError(error.message) from None
            return None

    def gradient(self, name: str, index: int, *args, **kwargs) -> tuple:
        """``(value, gradient)``: what ``name(*args)`` returns, and the gradient of its sum with respect
        to ``args[index]``, or None where the value does not depend on it differentiably (a NumPy
        computation, a threshold).

        The function is traced into a TensorFlow graph in the notebook worker and differentiated
        in the graphs worker, where no student code runs: no patched tape can answer.
        """
        graph = self.traced(name, list(args), kwargs)
        if graph is None:
            return self.call(name, *args, **kwargs), None
        answer = self.session.ask_graphs(
            protocol.GraphGradient(graph=graph, args=[np.asarray(a) for a in args], index=index), name
        )
        return answer.value, answer.gradient

    def fit_probe(
        self, loss: str | None, metrics: list[str], x, y, epochs: int, learning_rate: float = 0.05
    ) -> tuple[dict, list]:
        """Train a one-convolution sigmoid model (3x3 kernel, one filter, a bias) on ``(x, y)`` with the
        student's ``loss`` (None: binary cross-entropy) and ``metrics`` functions, in batches of 8.

        Returns ``(history, weights)``: per epoch the mean loss and metrics, and the trained
        ``[kernel (3, 3, C, 1), bias (1,)]``, so that the judge can measure what was learnt itself.
        The student's functions are traced into graphs; the training loop is the kit's, run in the
        graphs worker, where no student code runs.
        """
        x, y = np.asarray(x, np.float32), np.asarray(y, np.float32)
        sample = [y[:8], y[:8]]
        graphs = {}
        for name in ([loss] if loss else []) + list(metrics):
            graph = self.traced(name, sample, {}, free_batch=True)
            if graph is None:
                raise StudentCodeError(
                    _(
                        "{name} cannot run inside model.fit (it could not be traced on tensors: use "
                        "keras.ops, not NumPy)",
                        name=name,
                    )
                )
            graphs[name] = graph
        request = protocol.GraphFit(
            loss=graphs.get(loss) if loss else None,
            metrics={m: graphs[m] for m in metrics},
            x=x,
            y=y,
            epochs=epochs,
            learning_rate=learning_rate,
        )
        answer = self.session.ask_graphs(request, loss or ", ".join(metrics))
        return dict(answer.history), list(answer.weights)

    def train_reference_mlp(
        self, config: dict, data: tuple, epochs: int, batch_size: int, seed: int, keep: bool = False
    ) -> dict:
        """The kit's own run of TP2's MLP (``tpdl.course.experiments``) on ``data`` = (x_train, y_train,
        x_val, y_val), images as uint8 (N, 784) and labels (N,): ``history.history``.

        The run depends on nothing of the student's but the settings asked for, and is made in a
        worker that sees nothing of the submission: a judge process makes each distinct run once
        and answers it again from memory (:data:`REFERENCE_RUNS`). With ``keep`` (a run that every
        grading asks for alike, such as the notebook's pinned experiment), the machine keeps it for
        later grading runs too (``tpdl.grading.reference_runs``).
        """
        x_train, y_train, x_val, y_val = (np.asarray(a) for a in data)
        request = protocol.TrainMLP(
            config=dict(config),
            x_train=x_train,
            y_train=y_train,
            x_val=x_val,
            y_val=y_val,
            epochs=epochs,
            batch_size=batch_size,
            seed=seed,
        )
        key = request_digest(request)
        if key not in REFERENCE_RUNS:

            def failure(reason: str) -> str:
                return _("The reference run could not be made: its process {reason}.", reason=reason)

            def make() -> protocol.History:
                return self.session.ask_reference(request, failure, timeout_s=REFERENCE_RUN_S)

            answer = reference_runs.kept(key, make) if keep else make()
            history = dict(answer.history)
            while len(REFERENCE_RUNS) >= MAX_REFERENCE_RUNS:
                REFERENCE_RUNS.pop(next(iter(REFERENCE_RUNS)))  # the oldest first
            REFERENCE_RUNS[key] = history
        return {name: list(values) for name, values in REFERENCE_RUNS[key].items()}
