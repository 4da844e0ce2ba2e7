"""Grading one submission: hidden pytest graders, run by the judge, asking a sandboxed worker.

A grader is a plain pytest function of the ``student`` fixture (a :class:`Submission`), with its
points and grade cell declared beside it and a student-facing message on every assertion::

    pytestmark = pytest.mark.cell("preprocess_tests")

    @pytest.mark.points(1)
    def test_preprocess_scales_to_unit_range(student):
        x, _ = student.call("preprocess", IMAGES, LABELS)
        assert x.max() <= 1.0, "preprocess should scale pixel values into [0, 1]"

The student's code never runs in this process: ``student.call`` sends the judge's inputs to the
worker and gets plain data back. Expected values are computed here and never sent.
"""

import contextlib
import io
import os
import shutil
import stat
import tempfile
import time
import traceback
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pytest

from tpdl import sandbox
from tpdl.paths import graders

INTERNAL_ERROR = (
    "The grader could not complete this check (an internal error, not your fault); "
    "your instructor has the details."
)
MAX_RESTARTS = 2
MAX_DELIVERABLE_BYTES = 16 * 2**20


MODELS_DIR = "_tpdl_models"
PREDICT_BYTES = 16 * 2**20  # the most input one prediction request carries


def _read_regular_file(folder: Path, name: str, max_bytes: int) -> bytes | None:
    """The bytes of ``folder/name`` if it is a plain file no larger than ``max_bytes``, not reached by a link."""
    if "/" in name or os.path.realpath(folder) != os.path.join(os.path.realpath(folder.parent), folder.name):
        return None  # the folder itself is a link
    try:
        fd = os.open(folder / name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode) or info.st_size > max_bytes:
            return None
        return handle.read(max_bytes + 1)[:max_bytes]


class StudentCodeError(Exception):
    """The student's code could not give an answer; the message is written for the student."""


@dataclass
class Check:
    name: str
    points: float
    max_points: float
    passed: bool
    message: str
    cell: str | None = None
    counted: bool = True  # False: not run here (a skip), so neither earned nor lost


@dataclass
class Result:
    student: str
    assignment: str
    checks: list[Check] = field(default_factory=list)
    notebook: dict = field(default_factory=dict)
    seconds: float = 0.0
    internal_errors: int = 0

    @property
    def score(self) -> float:
        return round(sum(c.points for c in self.checks), 6)

    @property
    def max_score(self) -> float:
        return round(sum(c.max_points for c in self.checks if c.counted), 6)

    def to_json(self) -> dict:
        return {
            "student": self.student,
            "assignment": self.assignment,
            "score": self.score,
            "max_score": self.max_score,
            "checks": [asdict(c) for c in self.checks],
            "notebook": self.notebook,
            "seconds": round(self.seconds, 3),
            "internal_errors": self.internal_errors,
        }


class Model:
    """A Keras model loaded with ``safe_mode=True`` in a worker that runs no student code."""

    def __init__(self, submission: "Submission", key: str, description: dict, worker_path: str | None = None):
        self._submission = submission
        self.key = key
        self.description = description
        self.worker_path = worker_path  # where the notebook worker saved it, for a model built by a call

    @property
    def layer_classes(self) -> list[str]:
        return [layer["class_name"] for layer in self.description["layers"]]

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
            self._submission._models_request(
                {"op": "predict", "key": self.key, "x": slice_from(i), "batch_size": batch_size}
            )
            for i in range(0, max(len(inputs[0]), 1), step)
        ]
        if len(answers) == 1:
            return answers[0]
        if isinstance(answers[0], list):  # several outputs: join each across the answers
            return [np.concatenate([answer[k] for answer in answers]) for k in range(len(answers[0]))]
        return np.concatenate(answers)

    def get_weights(self) -> list:
        """The model's weights, in the order of ``model.get_weights()``."""
        return self._submission._models_request({"op": "get_weights", "key": self.key})

    def set_weights(self, weights: list) -> None:
        """Give the model the judge's weights (same shapes, same order as :meth:`get_weights`)."""
        self._submission._models_request({"op": "set_weights", "key": self.key, "weights": list(weights)})

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
        self.port = int(worker.startup["port"])

    def exchange(self, *exchanges: dict) -> list[dict]:
        """Send each request (``method``, ``path``, optional ``json``, ``body``, ``headers``) in turn."""
        import json as json_module

        import numpy as np

        prepared = []
        for exchange in exchanges:
            exchange = dict(exchange)
            headers = dict(exchange.pop("headers", {}))
            if "json" in exchange:
                exchange["body"] = json_module.dumps(exchange.pop("json"), allow_nan=True)
                headers.setdefault("Content-Type", "application/json")
            if isinstance(exchange.get("body"), bytes):
                exchange["body"] = np.frombuffer(exchange["body"], dtype=np.uint8)
            prepared.append({**exchange, "headers": headers})
        answers = self._submission._models_request({"op": "http", "port": self.port, "exchanges": prepared})
        for answer in answers:
            answer["json"] = _json_or_none(answer.get("body"))
        return answers

    def request(self, method: str, path: str, **exchange) -> dict:
        return self.exchange({"method": method, "path": path, **exchange})[0]

    def remove(self, relative: str) -> None:
        """Delete a file of the service's copy of the submission (does it still answer without it?)."""
        work = self._submission.zygote.spool / self.worker.token / "work"
        target = work / relative
        if os.path.realpath(target.parent) == os.path.realpath(work) and target.is_file():
            target.unlink()


def _json_or_none(text):
    import json as json_module

    try:
        return json_module.loads(text) if isinstance(text, str) else None
    except ValueError:
        return None


class Submission:
    """One student's submission as the graders see it: calls go to a sandboxed worker."""

    def __init__(self, zygote: sandbox.Zygote, path: Path, notebook: str, student: str = "student"):
        self.zygote = zygote
        self.path = Path(path)
        self.notebook = notebook
        self.student = student
        self._worker: sandbox.Worker | None = None
        self._models: sandbox.Worker | None = None
        self._services: list[sandbox.Worker] = []
        self.note = ""  # what the running check reports even when it passes (a latency, say)
        self._staging: Path | None = None  # the judge's copies of files that workers wrote
        self._staged: dict[str, Path] = {}
        self._restarts = 0
        self._fatal: str | None = None
        self.cells: list[dict] = []
        self.events: list[str] = []  # for the instructor's log

    # -- the notebook worker

    def _notebook_worker(self) -> sandbox.Worker:
        if self._fatal:
            raise StudentCodeError(self._fatal)
        if self._worker is not None and not self._worker.gone:
            return self._worker
        if self._worker is not None:
            self.zygote.discard(self._worker)
            if self._restarts >= MAX_RESTARTS:
                self._fatal = (
                    f"Your notebook's grading process stopped {MAX_RESTARTS + 1} times (the last time, it "
                    f"{self._worker.gone}); the remaining checks could not run."
                )
                raise StudentCodeError(self._fatal)
            self._restarts += 1
        if not (self.path / self.notebook).is_file():
            self._fatal = f"{self.notebook} is not in your submission (was it renamed or deleted?)."
            raise StudentCodeError(self._fatal)
        try:
            worker = self.zygote.spawn("notebook", self.path, self.notebook)
        except sandbox.WorkerGone as gone:
            self._fatal = f"Running your notebook failed: its process {gone.reason}."
            raise StudentCodeError(self._fatal) from None
        self._worker = worker
        if worker.gone:
            self.events.append(f"notebook worker: {worker.gone}\n{worker.output_tail()}")
            self._fatal = f"Running your notebook failed: its process {worker.gone}."
            raise StudentCodeError(self._fatal)
        if not worker.startup.get("ok"):
            error = worker.startup.get("error", {}).get("message", "unknown error")
            self._fatal = f"Your notebook could not be read: {error}"
            raise StudentCodeError(self._fatal)
        self.cells = worker.startup.get("cells", [])
        return worker

    def call(self, name: str, *args, **kwargs):
        """Call the student's function ``name`` with the judge's arguments; return its plain result."""
        return self._call({"op": "call", "name": name, "args": list(args), "kwargs": kwargs})

    def _answer(self, request: dict) -> dict:
        """The worker's raw answer to ``request`` (a call of one of the student's functions)."""
        worker = self._notebook_worker()
        try:
            return worker.request(request)
        except sandbox.WorkerGone as gone:
            self.events.append(f"{request['name']}: worker {gone.reason}\n{worker.output_tail()}")
            raise StudentCodeError(
                f"Calling {request['name']} stopped your notebook's grading process: it {gone.reason}."
            ) from None

    def _call(self, request: dict):
        return self._call_value(request, self._answer(request))

    @staticmethod
    def _call_value(request: dict, answer: dict):
        if not answer["ok"]:
            error = answer.get("error", {})
            message = str(error.get("message", "unknown error"))
            if error.get("kind") == "raised":
                if message.startswith("NotImplementedError"):
                    raise StudentCodeError(
                        f"{request['name']} is not implemented yet (it raises NotImplementedError)."
                    )
                raise StudentCodeError(f"{request['name']} raised {message}")
            raise StudentCodeError(message)
        return answer.get("value")

    def call_and_inputs(self, name: str, *args, **kwargs) -> tuple:
        """Like :meth:`call`, and also the arguments as the call left them: ``(value, args, kwargs)``.

        Arguments cross by value, so a function that changes its inputs in place is seen only here.
        """
        request = {"op": "call", "name": name, "args": list(args), "kwargs": kwargs, "return_inputs": True}
        answer = self._answer(request)
        value = self._call_value(request, answer)
        inputs = answer.get("inputs")
        if not isinstance(inputs, dict) or not isinstance(inputs.get("args"), list):
            raise StudentCodeError(f"the arguments of {name} could not be read back after the call")
        return value, inputs["args"], inputs.get("kwargs", {})

    def error_raised(self, name: str, *args, **kwargs) -> str | None:
        """Call ``name`` expecting it to refuse its arguments: the class name of what it raised, or None."""
        answer = self._answer({"op": "call", "name": name, "args": list(args), "kwargs": kwargs})
        if answer["ok"]:
            return None
        error = answer.get("error", {})
        if error.get("kind") != "raised":
            raise StudentCodeError(str(error.get("message", "unknown error")))
        message = str(error.get("message", ""))
        if message.startswith("NotImplementedError"):
            raise StudentCodeError(f"{name} is not implemented yet (it raises NotImplementedError).")
        return message.partition(":")[0]

    def _stage_from_worker(self, relative: str, missing: str) -> str:
        """Copy the file ``relative`` that the notebook worker wrote into the staging folder; its new path."""
        if self._worker is None:
            raise StudentCodeError(missing)
        work = self.zygote.spool / self._worker.token / "work"
        folder, _, name = relative.rpartition("/")
        data = _read_regular_file(work / folder if folder else work, name, MAX_DELIVERABLE_BYTES)
        if data is None:
            raise StudentCodeError(missing)
        if self._staging is None:
            self._staging = Path(tempfile.mkdtemp(prefix="tpdl-staged-"))
        staged = f"{uuid.uuid4().hex[:8]}-{name}"
        (self._staging / staged).write_bytes(data)
        self._staged[f"{MODELS_DIR}/{staged}"] = self._staging / staged
        return f"{MODELS_DIR}/{staged}"

    # -- models, always through the worker that runs no student code

    def _renew_models_worker(self) -> None:
        """Stop the models worker, so that the next one sees the current files (a model just staged)."""
        if self._models is not None:
            self.zygote.discard(self._models)
            self._models = None

    def _models_request(self, request: dict):
        if self._models is None or self._models.gone:
            if self._models is not None:
                self.zygote.discard(self._models)
            try:
                self._models = self.zygote.spawn("models", self.path, extra=self._staged)
            except sandbox.WorkerGone as gone:
                raise StudentCodeError(
                    f"Your model could not be loaded: its process {gone.reason}."
                ) from None
        try:
            answer = self._models.request(request)
        except sandbox.WorkerGone as gone:
            self.events.append(f"models worker: {gone.reason}\n{self._models.output_tail()}")
            raise StudentCodeError(
                f"Using your model stopped its grading process: it {gone.reason}."
            ) from None
        if not answer["ok"]:
            raise StudentCodeError(str(answer.get("error", {}).get("message", "unknown error")))
        return answer.get("value")

    def _load(self, relative: str, label: str) -> Model:
        key = uuid.uuid4().hex[:8]
        try:
            description = self._models_request({"op": "load", "path": relative, "key": key})
        except StudentCodeError as error:
            raise StudentCodeError(f"{label} could not be loaded safely: {error}") from None
        if not isinstance(description, dict) or not isinstance(description.get("layers"), list):
            raise StudentCodeError(f"{label} could not be described")
        return Model(self, key, description)

    def saved_model(self, filename: str) -> Model:
        """The model file ``filename`` handed in with the submission."""
        return self.saved_models(filename)[0]

    def saved_models(self, *filenames: str) -> list[Model]:
        """The model files ``filenames`` of the submission, loaded side by side in one fresh worker."""
        for filename in filenames:
            if not (self.path / filename).is_file():
                raise StudentCodeError(f"{filename} is not in your submission.")
        self._renew_models_worker()
        return [self._load(filename, filename) for filename in filenames]

    def build_model(self, function: str, *args, **kwargs) -> Model:
        """Call the student's model-building ``function``, save what it returns, load it safely."""
        return self._model_from({"op": "call", "name": function, "args": list(args), "kwargs": kwargs})

    def build_model_part(self, function: str, index: int, *args, **kwargs) -> Model:
        """Like :meth:`build_model` for a ``function`` that returns several models: the one at ``index``."""
        return self._model_from(
            {"op": "call", "name": function, "args": list(args), "kwargs": kwargs, "part": int(index)}
        )

    def block_model(self, function: str, input_shapes: list[tuple], *args, **kwargs) -> Model:
        """The student's block of layers ``function(*inputs, *args)`` applied to one ``keras.Input``
        per shape of ``input_shapes``, as a model (several outputs when it returns several tensors)."""
        return self._model_from({"op": "call", "name": function, "args": list(args), "kwargs": kwargs,
                                 "symbolic_inputs": [list(shape) for shape in input_shapes]})  # fmt: skip

    def layer_call(self, name: str, init: dict, args: list, kwargs: dict | None = None,
                   weights: list | None = None) -> tuple:  # fmt: skip
        """Make the student's layer ``name(**init)``, call it on ``args`` (arrays given as tensors)
        with ``kwargs``; with ``weights``, set them first (after a call that builds it).
        Returns ``(outputs, weight_shapes)``: an array, or a list of arrays for several outputs."""
        spec = {"args": list(args), "kwargs": dict(kwargs or {}), "weights": weights}
        answer = self._call(
            {"op": "call", "name": name, "args": [], "kwargs": dict(init), "layer_call": spec}
        )
        if not isinstance(answer, dict) or "outputs" not in answer:
            raise StudentCodeError(f"the outputs of {name} could not be read back")
        return answer["outputs"], [tuple(shape) for shape in answer["weight_shapes"]]

    def figure(self, name: str, *args, **kwargs) -> dict:
        """Call ``name``, which returns a matplotlib Figure; what the figure shows (see
        ``tpdl.worker._describe_figure``): the judge grades a plot on its data, not its pixels."""
        return self._call(
            {"op": "call", "name": name, "args": list(args), "kwargs": kwargs, "returns": "figure"}
        )

    def call_with_tensors(self, name: str, *args, **kwargs):
        """Like :meth:`call`, the arrays among ``args`` given to the function as the backend's tensors."""
        return self._call({"op": "call", "name": name, "args": list(args), "kwargs": kwargs, "tensors": True})

    def gradient(self, name: str, index: int, *args, **kwargs) -> tuple:
        """``(value, gradient)``: what ``name(*args)`` returns, and the gradient of its sum with respect
        to ``args[index]`` (taken as a variable), or None where the value does not depend on it
        differentiably (a NumPy computation, a threshold)."""
        answer = self._call(
            {"op": "call", "name": name, "args": list(args), "kwargs": kwargs, "gradient": index}
        )
        if not isinstance(answer, dict) or "value" not in answer:
            raise StudentCodeError(f"the gradient of {name} could not be read back")
        return answer["value"], answer["gradient"]

    def fit_probe(
        self, loss: str | None, metrics: list[str], x, y, epochs: int, learning_rate: float = 0.05
    ) -> dict:
        """Train a one-convolution sigmoid model compiled with the student's ``loss`` (None: Keras's
        binary cross-entropy) and ``metrics`` functions on ``(x, y)``; return the history (a dict of
        lists, per epoch)."""
        request = {"op": "fit_probe", "name": loss or ", ".join(metrics), "loss": loss, "metrics": list(metrics), "x": x, "y": y,
                   "epochs": epochs, "learning_rate": learning_rate}  # fmt: skip
        return self._call(request)

    def _model_from(self, request: dict) -> Model:
        """Make the call ``request`` (which returns a model), save the model, load it safely."""
        function = request["name"]
        name = f"{uuid.uuid4().hex[:8]}.keras"
        request["save_model"] = name
        self._call(request)  # what it answers is ignored: the judge knows where it asked to save
        relative = self._stage_from_worker(
            f"{MODELS_DIR}/{name}", f"the model returned by {function} could not be saved"
        )
        self._renew_models_worker()
        model = self._load(relative, f"The model returned by {function}")
        model.worker_path = f"{MODELS_DIR}/{name}"
        return model

    def train_model(self, function: str, builder: str, *args, **kwargs) -> tuple[dict, Model]:
        """Call ``function(builder(), *args)`` (a training function given a fresh model of the student's
        ``builder``); return the History it returned, as ``{"history": ..., "epoch": ...}``, and the
        trained model, loaded safely."""
        from tpdl.wire import Call

        name = f"{uuid.uuid4().hex[:8]}.keras"
        request = {"op": "call", "name": function, "args": [Call(builder), *args], "kwargs": kwargs,
                   "returns": "history", "save_argument": {"index": 0, "as": name}}  # fmt: skip
        history = self._call(request)
        relative = self._stage_from_worker(
            f"{MODELS_DIR}/{name}", f"the model trained by {function} could not be saved"
        )
        self._renew_models_worker()
        return history, self._load(relative, f"The model trained by {function}")

    def serve(self, module: str, factory: str, *args, ready_s: float = 60.0) -> Service:
        """Serve ``factory(*args)`` of the student's ``module`` with gunicorn, ready to answer ``GET /health``.

        Raises :class:`StudentCodeError` if the application does not answer within ``ready_s``.
        """
        if not (self.path / f"{module}.py").is_file():
            raise StudentCodeError(f"{module}.py is not in your submission.")
        try:
            worker = self.zygote.spawn(
                "service", self.path, options={"module": module, "factory": factory, "args": list(args)}
            )
        except sandbox.WorkerGone as gone:
            raise StudentCodeError(
                f"Your application could not be started: its process {gone.reason}."
            ) from None
        self._services.append(worker)
        if worker.gone or "port" not in worker.startup:
            raise StudentCodeError(
                f"Your application could not be started: its process {worker.gone or 'failed'}."
            )
        service = Service(self, worker)
        deadline = time.monotonic() + ready_s
        while True:
            answer = service.request("GET", "/health", timeout_s=5)
            if answer["status"] is not None:
                return service
            if time.monotonic() > deadline:
                self.events.append(f"service did not answer: {answer.get('error')}\n{worker.output_tail()}")
                raise StudentCodeError(
                    f"gunicorn serving {module}:{factory}(...) did not answer within {ready_s:.0f} s "
                    "(does importing app.py and calling create_app work?)"
                )
            time.sleep(0.5)

    def has_file(self, relative: str) -> bool:
        """Is ``relative`` a plain file of the submission, reached without links?"""
        target = self.path / relative
        real = os.path.realpath(target)
        return real == os.path.normpath(
            os.path.join(os.path.realpath(self.path), relative)
        ) and os.path.isfile(real)

    def worker_file_exists(self, relative: str) -> bool:
        """Did the student's code, called by the judge, leave the plain file ``relative`` in its folder?"""
        if self._worker is None or ".." in relative.split("/"):
            return False
        work = self.zygote.spool / self._worker.token / "work"
        folder, _, name = relative.rpartition("/")
        if os.path.realpath(work / folder) != os.path.normpath(os.path.join(os.path.realpath(work), folder)):
            return False  # a link on the way
        return _read_regular_file(work / folder if folder else work, name, MAX_DELIVERABLE_BYTES) is not None

    def tracking_runs(self, relative: str, written_by_call: bool = False) -> list[dict]:
        """The runs of the MLflow SQLite store ``relative``, newest first, read in the models worker.

        With ``written_by_call``, the store is the one the student's code wrote while the judge
        called it (in the notebook worker's copy), not the one handed in.
        """
        if written_by_call:
            relative = self._stage_from_worker(relative, f"no tracking store {relative} was written")
        elif not (self.path / relative).is_file() or (self.path / relative).is_symlink():
            raise StudentCodeError(f"{relative} is not in your submission.")
        self._renew_models_worker()
        value = self._models_request({"op": "tracking_runs", "path": relative})
        if not isinstance(value, dict) or not isinstance(value.get("runs"), list):
            raise StudentCodeError(f"{relative} could not be read")
        return value["runs"]

    def read_file(self, relative: str, max_bytes: int = MAX_DELIVERABLE_BYTES) -> bytes:
        """A deliverable of the submission, read by the judge as bytes (never executed)."""
        path = self.path / relative
        if path.is_symlink() or not path.is_file():
            raise StudentCodeError(f"{relative} is not in your submission.")
        if path.stat().st_size > max_bytes:
            raise StudentCodeError(f"{relative} is larger than {max_bytes} bytes.")
        return path.read_bytes()

    def close(self) -> None:
        """Stop this submission's workers and whatever they left running in the jail."""
        for worker in (self._worker, self._models, *self._services):
            if worker is not None:
                self.zygote.discard(worker)
        self._services = []
        self._worker = self._models = None
        self.zygote.sweep()
        if self._staging is not None:
            shutil.rmtree(self._staging, ignore_errors=True)
            self._staging, self._staged = None, {}


# --------------------------------------------------------------------------- the pytest side


def _message(excinfo) -> tuple[str, bool]:
    """The student-facing message of a failure, and whether it is an internal error."""
    error = excinfo.value
    if isinstance(error, (AssertionError, StudentCodeError)):
        text = (
            str(error).split("\nassert ")[0].strip()
        )  # without pytest's explanation, where it rewrote asserts
        return (text or "This check failed."), False
    return INTERNAL_ERROR, True


class GradingPlugin:
    """Collects one result per grader test; provides the ``student`` fixture."""

    def __init__(self, submission: Submission, cells: set[str] | None = None):
        self.submission = submission
        self.cells = cells
        self.checks: dict[str, Check] = {}
        self.internal: list[str] = []

    @pytest.fixture(scope="session")
    def student(self):
        return self.submission

    def pytest_collection_modifyitems(self, config, items):
        """With ``cells``, only the checks of those grade cells run (the kit's catalogue tests use it)."""
        if self.cells is None:
            return
        keep = [item for item in items if (m := item.get_closest_marker("cell")) and m.args[0] in self.cells]
        config.hook.pytest_deselected(items=[item for item in items if item not in keep])
        items[:] = keep

    def pytest_configure(self, config):
        config.addinivalue_line("markers", "points(n): points the check is worth")
        config.addinivalue_line("markers", "cell(grade_id): the nbgrader grade cell the check counts towards")

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        name = item.name.removeprefix("test_")
        points_marker = item.get_closest_marker("points")
        max_points = float(points_marker.args[0]) if points_marker else 0.0
        cell_marker = item.get_closest_marker("cell")
        check = self.checks.setdefault(
            item.nodeid,
            Check(name, max_points, max_points, True, "", cell_marker.args[0] if cell_marker else None),
        )
        if report.when == "call" and report.passed and self.submission.note:
            check.message = self.submission.note  # a figure worth reporting on a check that passed
        if report.when == "setup":
            self.submission.note = ""
        if report.failed and check.passed:
            message, internal = _message(call.excinfo)
            if internal:
                self.internal.append(
                    f"{item.nodeid}\n{''.join(traceback.format_exception(call.excinfo.value))}"
                )
            check.passed, check.points, check.message = False, 0.0, message
        elif report.skipped and check.passed:
            # A check that cannot run on this machine (no Docker engine, say) is not counted.
            check.passed, check.points, check.counted = False, 0.0, False
            check.message = str(getattr(call.excinfo.value, "msg", "")) or "This check was not run."


def grade_submission(
    zygote: sandbox.Zygote,
    assignment: str,
    path: Path,
    student: str = "student",
    notebook: str | None = None,
    cells: set[str] | None = None,
) -> tuple[Result, str]:
    """Run ``graders/<assignment>/`` against the submission in ``path``; return its result and a log.

    ``cells`` restricts grading to the checks of those grade cells.
    """
    started = time.monotonic()
    submission = Submission(zygote, path, notebook or f"{assignment}.ipynb", student)
    plugin = GradingPlugin(submission, cells)
    args = [
        str(graders(assignment)), "-p", "no:cacheprovider", "-p", "no:terminal", "--assert=plain",
        "--import-mode=importlib", "-o", "addopts=", "--strict-markers", "--rootdir", str(graders(assignment)),
    ]  # fmt: skip
    with contextlib.redirect_stdout(io.StringIO()) as out:
        try:
            code = pytest.main(args, plugins=[plugin])
        finally:
            submission.close()
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        raise RuntimeError(
            f"the graders of {assignment} could not run (pytest exit {code}):\n{out.getvalue()}"
        )
    result = Result(student, assignment, list(plugin.checks.values()))
    result.notebook = {"cells": submission.cells}
    result.internal_errors = len(plugin.internal)
    result.seconds = time.monotonic() - started
    log = "\n\n".join(submission.events + plugin.internal)
    return result, log


# --------------------------------------------------------------------------- helpers for graders


def as_array(value, what: str, shape: tuple | None = None):
    """``value`` as a plain ndarray of ``shape`` (None for any axis), or an assertion for the student."""
    import numpy as np

    assert isinstance(value, np.ndarray), f"{what} should be a NumPy array, not {type(value).__name__}"
    if shape is not None:
        assert value.ndim == len(shape) and all(e is None or e == n for e, n in zip(shape, value.shape)), (
            f"{what} has shape {value.shape}; expected {tuple('any' if e is None else e for e in shape)}"
        )
    return value


def as_pair(value, what: str) -> tuple:
    """``value`` as a 2-tuple, or an assertion for the student."""
    assert isinstance(value, (tuple, list)) and len(value) == 2, f"{what} should return a pair (two values)"
    return tuple(value)


def grader_module(grader_file: str, name: str):
    """The module ``name`` beside the grader ``grader_file`` (a reference several graders share).

    Graders are imported one by one, outside any package, so a shared reference is loaded by its
    path; pytest collects only the ``test_*`` files, never it.
    """
    import importlib.util
    import sys

    path = Path(grader_file).with_name(f"{name}.py")
    key = f"tpdl_graders_{path.parent.name}_{name}"
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        sys.modules[key] = module
    return sys.modules[key]
