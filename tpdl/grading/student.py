"""The grader's view of a submission: the ``student`` fixture every hidden grader receives.

A grader asks questions of a :class:`Submission` (call a function, load a saved model, serve the
web application, read a tracking store); each becomes one request of ``tpdl.judge.protocol`` to one of
the submission's workers (``tpdl.judge.session``), and comes back as plain data. The student's code
never runs in the judge's process, and what the judge expects is never sent. A question the
student's code cannot answer raises :class:`StudentCodeError`, with a message for the student.
"""

import hashlib
import json
import uuid
from collections.abc import Callable
from pathlib import Path

import numpy as np

from tpdl.core.i18n import KIT as _
from tpdl.grading import reference_runs
from tpdl.judge import protocol, sandbox, wire
from tpdl.judge.session import MAX_DELIVERABLE_BYTES, MODELS_DIR, Session, StudentCodeError, read_regular_file

PREDICT_BYTES = 16 * 2**20  # the most input one prediction request carries
# The kit's reference runs this judge process made, by the digest of their request (no student input).
REFERENCE_RUNS: dict[str, dict] = {}
MAX_REFERENCE_RUNS = 64
# A reference run's length is set by the graders, not by the student (TP2's full-budget run of 10
# epochs on 10,000 images: about 6 s on 2 idle cores, 15 s on busy ones): it may take this long
# whatever the request limit the submission's workers have.
REFERENCE_RUN_S = 120.0

__all__ = ["Model", "Service", "StudentCodeError", "Submission"]


def _digest(request: protocol.Request) -> str:
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


def _failure(name: str, error: sandbox.WorkerError) -> StudentCodeError:
    """The student's message for an error answer to a call of their function ``name``."""
    if error.kind == "raised":
        if error.message.startswith("NotImplementedError"):
            return StudentCodeError(
                _("{name} is not implemented yet (it raises NotImplementedError).", name=name)
            )
        return StudentCodeError(_("{name} raised {error}", name=name, error=error.message))
    return StudentCodeError(error.message)


class Model:
    """A Keras model loaded with ``safe_mode=True`` in a worker that runs no student code.

    The models worker is replaced whenever a file is staged for it (a model another check built);
    a model whose weights the judge did not change is then loaded again from its file, the same
    bytes, on its next use.
    """

    def __init__(self, submission: "Submission", key: str, description: dict, path: str,
                 worker_path: str | None = None):  # fmt: skip
        self._submission = submission
        self.key = key
        self.description = description  # plain data, checked as ``protocol.ModelDescription``
        self.path = path  # the staged file it was loaded from
        self.worker_path = worker_path  # where the notebook worker saved it, for a model built by a call
        self._loaded_in = submission.session.models_ended  # the models worker that holds it
        self._weights_set = False

    @property
    def layer_classes(self) -> list[str]:
        return [layer["class_name"] for layer in self.description["layers"]]

    def _ask(self, request: protocol.Request):
        session = self._submission.session
        if session.models_ended != self._loaded_in:
            if self._weights_set:
                raise RuntimeError(f"{self.path}: the judge's weights were lost with the models worker")
            session.ask_models(  # the same file, under the same key, in the current worker
                protocol.LoadModel(path=self.path, key=self.key),
                lambda reason: _("Loading failed: its process {reason}.", reason=reason),
            )
            self._loaded_in = session.models_ended
        return session.ask_models(
            request, lambda reason: _("Using your model failed: its process {reason}.", reason=reason)
        )

    def predict(self, x, batch_size: int = 512):
        """The model's outputs on ``x`` (computed in the worker): an array, a list for several outputs.

        Large inputs cross in pieces of at most ``PREDICT_BYTES``, well inside a frame's limit.
        """
        inputs = [np.asarray(a) for a in x] if isinstance(x, (list, tuple)) else [np.asarray(x)]
        step = max(1, PREDICT_BYTES // max(1, sum(a[:1].nbytes for a in inputs)))

        def slice_from(i: int):
            part = [a[i : i + step] for a in inputs]
            return part if isinstance(x, (list, tuple)) else part[0]

        answers = [
            self._ask(protocol.Predict(key=self.key, x=slice_from(i), batch_size=batch_size))
            for i in range(0, max(len(inputs[0]), 1), step)
        ]
        if len(answers) == 1:
            return answers[0]
        if isinstance(answers[0], list):  # several outputs: join each across the answers
            return [np.concatenate([answer[k] for answer in answers]) for k in range(len(answers[0]))]
        return np.concatenate(answers)

    def get_weights(self) -> list:
        """The model's weights, in the order of ``model.get_weights()``."""
        return self._ask(protocol.GetWeights(key=self.key))

    def set_weights(self, weights: list) -> None:
        """Give the model the judge's weights (same shapes, same order as :meth:`get_weights`)."""
        self._ask(protocol.SetWeights(key=self.key, weights=[np.asarray(w) for w in weights]))
        self._weights_set = True

    def layers_of(self, *class_names: str) -> list[dict]:
        """The descriptions of the layers of these classes, in the model's order."""
        return [layer for layer in self.description["layers"] if layer["class_name"] in class_names]

    def layer(self, name: str) -> dict | None:
        """The description of the layer called ``name``."""
        return next((layer for layer in self.description["layers"] if layer["name"] == name), None)


class Service:
    """The student's web application served by gunicorn in the jail; requests go through the models worker."""

    def __init__(self, submission: "Submission", worker: sandbox.Worker):
        self._submission = submission
        self.worker = worker
        self.port = worker.ready.port

    def exchange(self, *exchanges: dict) -> list[dict]:
        """Send each request (``method``, ``path``, optional ``json``, ``body``, ``headers``,
        ``timeout_s``) in turn; each answer as a dict, with its body parsed as ``json`` (or None)."""
        prepared = []
        for exchange in exchanges:
            exchange = dict(exchange)
            headers = {str(k): str(v) for k, v in dict(exchange.pop("headers", {})).items()}
            if "json" in exchange:
                exchange["body"] = json.dumps(exchange.pop("json"), allow_nan=True)
                headers.setdefault("Content-Type", "application/json")
            if isinstance(exchange.get("body"), bytes):
                exchange["body"] = np.frombuffer(exchange["body"], dtype=np.uint8)
            if "timeout_s" in exchange:
                exchange["timeout_s"] = float(exchange["timeout_s"])
            prepared.append(protocol.HttpExchange(**exchange, headers=headers))
        answers = self._submission.session.ask_models(
            protocol.Http(port=self.port, exchanges=prepared),
            lambda reason: _("Querying your application failed: its process {reason}.", reason=reason),
        )
        plain = [protocol.plain(answer) for answer in answers]
        for answer in plain:
            answer["json"] = _json_or_none(answer["body"]) if answer["status"] is not None else None
            if answer["status"] is None:
                answer["body"] = None
        return plain

    def request(self, method: str, path: str, **exchange) -> dict:
        return self.exchange({"method": method, "path": path, **exchange})[0]

    def remove(self, relative: str) -> None:
        """Delete a file of the service's copy of the submission (does it still answer without it?)."""
        self._submission.session.remove_from(self.worker, relative)


def _json_or_none(text):
    try:
        return json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return None


class Submission:
    """One student's submission as the graders see it (its staged copy at ``path``)."""

    def __init__(self, zygote: sandbox.Zygote, path: Path, notebook: str, student: str = "student"):
        self.session = Session(zygote, Path(path), notebook)
        self.path = Path(path)
        self.notebook = notebook
        self.student = student
        self.note = ""  # what the running check reports even when it passes (a latency, say)

    @property
    def cells(self) -> list[dict]:
        return self.session.cells

    @property
    def events(self) -> list[str]:
        return self.session.events

    # -- calls of the student's functions

    def _ask(self, request: protocol.Request, name: str | None = None):
        name = name or request.name
        try:
            return self.session.ask_notebook(request, name)
        except sandbox.WorkerError as error:
            raise _failure(name, error) from None

    def call(self, name: str, *args, **kwargs):
        """Call the student's function ``name`` with the judge's arguments; return its plain result."""
        return self._ask(protocol.Call(name=name, args=list(args), kwargs=kwargs)).value

    def call_with_tensors(self, name: str, *args, **kwargs):
        """Like :meth:`call`, the arrays among ``args`` given to the function as the backend's tensors."""
        return self._ask(protocol.Call(name=name, args=list(args), kwargs=kwargs, tensors=True)).value

    def call_and_inputs(self, name: str, *args, **kwargs) -> tuple:
        """Like :meth:`call`, and also the arguments as the call left them: ``(value, args, kwargs)``.

        Arguments cross by value, so a function that changes its inputs in place is seen only here.
        """
        answer = self._ask(protocol.Call(name=name, args=list(args), kwargs=kwargs, return_inputs=True))
        if answer.args is None:
            raise StudentCodeError(
                _("the arguments of {name} could not be read back after the call", name=name)
            )
        return answer.value, answer.args, answer.kwargs or {}

    def error_raised(self, name: str, *args, **kwargs) -> str | None:
        """Call ``name`` expecting it to refuse its arguments: the class name of what it raised, or None."""
        try:
            self.session.ask_notebook(
                protocol.Call(name=name, args=list(args), kwargs=kwargs, discard_value=True), name
            )
        except sandbox.WorkerError as error:
            if error.kind != "raised":
                raise StudentCodeError(error.message) from None
            if error.message.startswith("NotImplementedError"):
                raise StudentCodeError(
                    _("{name} is not implemented yet (it raises NotImplementedError).", name=name)
                ) from None
            return error.message.partition(":")[0]
        return None

    def layer_call(self, name: str, init: dict, args: list, kwargs: dict | None = None,
                   weights: list | None = None) -> tuple:  # fmt: skip
        """Make the student's layer ``name(**init)``, call it on ``args`` (arrays given as tensors)
        with ``kwargs``; with ``weights``, set them first (after a call that builds it).
        Returns ``(outputs, weight_shapes)``: an array, or a list of arrays for several outputs."""
        request = protocol.LayerCall(name=name, init=dict(init), args=list(args), kwargs=dict(kwargs or {}),
                                     weights=None if weights is None else [np.asarray(w) for w in weights])  # fmt: skip
        answer = self._ask(request)
        return answer.outputs, [tuple(shape) for shape in answer.weight_shapes]

    def figure(self, name: str, *args, **kwargs) -> dict:
        """Call ``name``, which returns a matplotlib Figure; what the figure shows (see
        ``tpdl.judge.protocol.FigureDescription``): the judge grades a plot on its data, not its pixels."""
        return protocol.plain(self._ask(protocol.DescribeFigure(name=name, args=list(args), kwargs=kwargs)))

    # -- differentiation and training, measured where no student code runs

    def _graph(self, name: str, args: list, kwargs: dict, free_batch: bool = False) -> protocol.Graph | None:
        """The student's function traced into a graph, or None where it cannot be (NumPy on tensors)."""
        arrays = [np.asarray(a) for a in args]
        try:
            return self.session.ask_notebook(
                protocol.ExportGraph(name=name, args=arrays, kwargs=kwargs, free_batch=free_batch), name
            )
        except sandbox.WorkerError as error:
            if error.kind == "raised" and error.message.startswith("NotImplementedError"):
                raise _failure(name, error) from None
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
        graph = self._graph(name, list(args), kwargs)
        if graph is None:
            return self.call(name, *args, **kwargs), None
        answer = self.session.ask_graphs(
            protocol.GraphGradient(graph=graph, args=[np.asarray(a) for a in args], index=index), name
        )
        return answer.value, answer.gradient

    def fit_probe(self, loss: str | None, metrics: list[str], x, y, epochs: int,
                  learning_rate: float = 0.05) -> tuple[dict, list]:  # fmt: skip
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
            graph = self._graph(name, sample, {}, free_batch=True)
            if graph is None:
                raise StudentCodeError(
                    _("{name} cannot run inside model.fit (it could not be traced on tensors: use keras.ops, not NumPy)",
                      name=name)
                )  # fmt: skip
            graphs[name] = graph
        request = protocol.GraphFit(loss=graphs.get(loss) if loss else None,
                                    metrics={m: graphs[m] for m in metrics}, x=x, y=y, epochs=epochs,
                                    learning_rate=learning_rate)  # fmt: skip
        answer = self.session.ask_graphs(request, loss or ", ".join(metrics))
        return dict(answer.history), list(answer.weights)

    def train_reference_mlp(self, config: dict, data: tuple, epochs: int, batch_size: int, seed: int,
                            keep: bool = False) -> dict:  # fmt: skip
        """The kit's own run of TP2's MLP (``tpdl.course.experiments``) on ``data`` = (x_train, y_train,
        x_val, y_val), images as uint8 (N, 784) and labels (N,): ``history.history``.

        The run depends on nothing of the student's but the settings asked for, and is made in a
        worker that sees nothing of the submission: a judge process makes each distinct run once
        and answers it again from memory (:data:`REFERENCE_RUNS`). With ``keep`` (a run that every
        grading asks for alike, such as the notebook's pinned experiment), the machine keeps it for
        later grading runs too (``tpdl.grading.reference_runs``).
        """
        x_train, y_train, x_val, y_val = (np.asarray(a) for a in data)
        request = protocol.TrainMLP(config=dict(config), x_train=x_train, y_train=y_train, x_val=x_val,
                                    y_val=y_val, epochs=epochs, batch_size=batch_size, seed=seed)  # fmt: skip
        key = _digest(request)
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

    # -- models

    def _load(self, relative: str, unloadable: Callable[[str], str]) -> Model:
        """Load the model file ``relative`` safely; ``unloadable(why)``: the student's message if it cannot be."""
        key = uuid.uuid4().hex[:8]
        try:
            description = self.session.ask_models(
                protocol.LoadModel(path=relative, key=key),
                lambda reason: _("Loading failed: its process {reason}.", reason=reason),
            )
        except StudentCodeError as error:
            raise StudentCodeError(unloadable(str(error))) from None
        return Model(self, key, protocol.plain(description), relative)

    def _model_from(self, request: protocol.Request, function: str) -> Model:
        """Make ``request`` (it saves the model the student's function returns), load it safely."""
        self._ask(request, function)  # what it answers is ignored: the judge knows where it asked to save
        relative = self.session.stage_from_notebook(
            f"{MODELS_DIR}/{request.save_as}",
            _("the model returned by {function} could not be saved", function=function),
        )
        model = self._load(relative, lambda why: _(
            "The model returned by {function} could not be loaded safely: {why}", function=function, why=why
        ))  # fmt: skip
        model.worker_path = f"{MODELS_DIR}/{request.save_as}"
        return model

    @staticmethod
    def _save_name() -> str:
        return f"{uuid.uuid4().hex[:8]}.keras"

    def build_model(self, function: str, *args, **kwargs) -> Model:
        """Call the student's model-building ``function``, save what it returns, load it safely."""
        request = protocol.BuildModel(
            name=function, args=list(args), kwargs=kwargs, save_as=self._save_name()
        )
        return self._model_from(request, function)

    def build_model_part(self, function: str, index: int, *args, **kwargs) -> Model:
        """Like :meth:`build_model` for a ``function`` that returns several models: the one at ``index``."""
        request = protocol.BuildModel(name=function, args=list(args), kwargs=kwargs, save_as=self._save_name(),
                                      part=int(index))  # fmt: skip
        return self._model_from(request, function)

    def block_model(self, function: str, input_shapes: list[tuple], *args, **kwargs) -> Model:
        """The student's block of layers ``function(*inputs, *args)`` applied to one ``keras.Input``
        per shape of ``input_shapes``, as a model (several outputs when it returns several tensors)."""
        request = protocol.BuildModel(name=function, args=list(args), kwargs=kwargs, save_as=self._save_name(),
                                      symbolic_inputs=[list(shape) for shape in input_shapes])  # fmt: skip
        return self._model_from(request, function)

    def train_model(self, function: str, builder: str, *args, **kwargs) -> tuple[dict, Model]:
        """Call ``function(builder(), *args)`` (a training function given a fresh model of the student's
        ``builder``); return the History it returned, as ``{"history": ..., "epoch": ...}``, and the
        trained model, loaded safely."""
        request = protocol.TrainModel(name=function, builder=builder, args=list(args), kwargs=kwargs,
                                      save_as=self._save_name())  # fmt: skip
        history = protocol.plain(self._ask(request, function))
        relative = self.session.stage_from_notebook(
            f"{MODELS_DIR}/{request.save_as}",
            _("the model trained by {function} could not be saved", function=function),
        )
        return history, self._load(relative, lambda why: _(
            "The model trained by {function} could not be loaded safely: {why}", function=function, why=why
        ))  # fmt: skip

    def saved_model(self, filename: str) -> Model:
        """The model file ``filename`` handed in with the submission."""
        return self.saved_models(filename)[0]

    def saved_models(self, *filenames: str) -> list[Model]:
        """The model files ``filenames`` of the submission, loaded side by side in one fresh worker."""
        for filename in filenames:
            if not self.has_file(filename):
                raise StudentCodeError(_("{file} is not in your submission.", file=filename))
        self.session.renew_models()
        return [self._load(filename, self._unloadable(filename)) for filename in filenames]

    @staticmethod
    def _unloadable(filename: str) -> Callable[[str], str]:
        return lambda why: _("{file} could not be loaded safely: {why}", file=filename, why=why)

    # -- the web application

    def serve(self, module: str, factory: str, *args, ready_s: float = 60.0) -> Service:
        """Serve ``factory(*args)`` of the student's ``module`` with gunicorn, ready to answer ``GET /health``.

        Raises :class:`StudentCodeError` if the application does not answer within ``ready_s``.
        """
        import time

        if not self.has_file(f"{module}.py"):
            raise StudentCodeError(_("{file} is not in your submission.", file=f"{module}.py"))
        service = Service(self, self.session.start_service(module, factory, list(args)))
        deadline = time.monotonic() + ready_s
        while True:
            answer = service.request("GET", "/health", timeout_s=5)
            if answer["status"] is not None:
                return service
            if service.worker.hung_up():
                self.events.append(f"service stopped before answering: {answer.get('error')}")
                raise StudentCodeError(
                    _("gunicorn serving {module}:{factory}(...) stopped before it answered "
                      "(does importing app.py and calling create_app work?)", module=module, factory=factory)
                )  # fmt: skip
            if time.monotonic() > deadline:
                self.events.append(f"service did not answer: {answer.get('error')}")
                raise StudentCodeError(
                    _("gunicorn serving {module}:{factory}(...) did not answer within {seconds:.0f} s "
                      "(does importing app.py and calling create_app work?)", module=module, factory=factory,
                      seconds=ready_s)
                )  # fmt: skip
            time.sleep(0.5)

    # -- files

    def has_file(self, relative: str) -> bool:
        """Is ``relative`` a plain file of the submission? (The staged copy holds no links.)"""
        parts = relative.split("/")
        if not relative or relative.startswith("/") or any(p in ("", ".", "..") for p in parts):
            return False
        path = self.path / relative
        return path.is_file() and not path.is_symlink()

    def file_digest(self, relative: str) -> str | None:
        """The sha256 of the plain file ``relative`` of the submission (None if there is none), read by the judge."""
        import hashlib

        if not self.has_file(relative):
            return None
        digest = hashlib.sha256()
        with open(self.path / relative, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()

    def give_file(self, relative: str, data: bytes) -> None:
        """Create ``relative`` with the judge's ``data`` in the folder where the student's code runs
        (before a call that uses it)."""
        self.session.give_notebook(relative, data)

    def worker_file_exists(self, relative: str) -> bool:
        """Did the student's code, called by the judge, leave the plain file ``relative`` in its folder?"""
        return self.session.notebook_file(relative, MAX_DELIVERABLE_BYTES) is not None

    def worker_file(self, relative: str) -> bytes | None:
        """The bytes of a plain file the student's code, called by the judge, left in its folder."""
        return self.session.notebook_file(relative, MAX_DELIVERABLE_BYTES)

    def tracking_runs(self, relative: str, written_by_call: bool = False) -> list[dict]:
        """The runs of the MLflow SQLite store ``relative``, newest first, read in the models worker.

        With ``written_by_call``, the store is the one the student's code wrote while the judge
        called it (in the notebook worker's copy), not the one handed in.
        """
        if written_by_call:
            relative = self.session.stage_from_notebook(
                relative, _("no tracking store {file} was written", file=relative)
            )
        elif not self.has_file(relative):
            raise StudentCodeError(_("{file} is not in your submission.", file=relative))
        store = self.session.ask_models(
            protocol.TrackingRuns(path=relative),
            lambda reason: _("{file} could not be read: its process {reason}.", file=relative, reason=reason),
        )
        return [protocol.plain(run) for run in store.runs]

    def read_file(self, relative: str, max_bytes: int = MAX_DELIVERABLE_BYTES) -> bytes:
        """A deliverable of the submission, read by the judge as bytes (never executed)."""
        if not self.has_file(relative):
            raise StudentCodeError(_("{file} is not in your submission.", file=relative))
        data = read_regular_file(self.path, relative, max_bytes)
        if data is None:
            raise StudentCodeError(_("{file} is larger than {size} bytes.", file=relative, size=max_bytes))
        return data

    def close(self) -> None:
        """Stop this submission's workers and whatever they left running in the jail."""
        self.session.close()
