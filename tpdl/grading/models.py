"""The student's models as the graders see them: each loaded with ``safe_mode=True`` in the models
worker, which runs no student code, whether a function of the student's built it or it was handed in;
and the tracking stores, read in that worker too."""

import uuid
from collections.abc import Callable

import numpy as np

from tpdl.core.i18n import KIT as _
from tpdl.grading.calls import NotebookCalls
from tpdl.grading.staged import StagedCopy
from tpdl.judge import protocol
from tpdl.judge.session import Session, StudentCodeError

PREDICT_BYTES = 16 * 2**20  # the most input one prediction request carries


class Model:
    """A Keras model loaded with ``safe_mode=True`` in a worker that runs no student code.

    The models worker is replaced whenever a file is staged for it (a model another check built);
    a model whose weights the judge did not change is then loaded again from its file, the same
    bytes, on its next use.
    """

    def __init__(
        self, session: Session, key: str, description: dict, path: str, worker_path: str | None = None
    ):
        self.session = session
        self.key = key
        self.description = description  # plain data, checked as ``protocol.ModelDescription``
        self.path = path  # the staged file it was loaded from
        self.worker_path = worker_path  # where the notebook worker saved it, for a model built by a call
        self._loaded_in = session.models_ended  # the models worker that holds it
        self._weights_set = False

    @property
    def layer_classes(self) -> list[str]:
        return [layer["class_name"] for layer in self.description["layers"]]

    def _ask(self, request: protocol.Request):
        session = self.session
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


class ModelQuestions(NotebookCalls, StagedCopy):
    """What a grader asks of the models worker: the student's models (built or handed in), tracking stores."""

    def _load(self, relative: str, unloadable: Callable[[str], str]) -> Model:
        """Load the model file ``relative`` safely; ``unloadable(why)``: the student's message if not."""
        key = uuid.uuid4().hex[:8]
        try:
            description = self.session.ask_models(
                protocol.LoadModel(path=relative, key=key),
                lambda reason: _("Loading failed: its process {reason}.", reason=reason),
            )
        except StudentCodeError as error:
            raise StudentCodeError(unloadable(str(error))) from None
        return Model(self.session, key, protocol.plain(description), relative)

    def _model_from(self, request: protocol.BuildModel, function: str) -> Model:
        """Make ``request`` (it saves the model the student's function returns), load it safely."""
        self.ask_function(function, request)  # its answer is ignored: the judge knows where it asked to save
        relative = self.session.stage_from_notebook(
            f"{protocol.MODELS_DIR}/{request.save_as}",
            _("the model returned by {function} could not be saved", function=function),
        )
        model = self._load(
            relative,
            lambda why: _(
                "The model returned by {function} could not be loaded safely: {why}",
                function=function,
                why=why,
            ),
        )
        model.worker_path = f"{protocol.MODELS_DIR}/{request.save_as}"
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
        request = protocol.BuildModel(
            name=function, args=list(args), kwargs=kwargs, save_as=self._save_name(), part=int(index)
        )
        return self._model_from(request, function)

    def block_model(self, function: str, input_shapes: list[tuple], *args, **kwargs) -> Model:
        """The student's block of layers ``function(*inputs, *args)`` applied to one ``keras.Input``
        per shape of ``input_shapes``, as a model (several outputs when it returns several tensors)."""
        request = protocol.BuildModel(
            name=function,
            args=list(args),
            kwargs=kwargs,
            save_as=self._save_name(),
            symbolic_inputs=[list(shape) for shape in input_shapes],
        )
        return self._model_from(request, function)

    def train_model(self, function: str, builder: str, *args, **kwargs) -> tuple[dict, Model]:
        """Call ``function(builder(), *args)`` (a training function given a fresh model of the student's
        ``builder``); return the History it returned, as ``{"history": ..., "epoch": ...}``, and the
        trained model, loaded safely."""
        request = protocol.TrainModel(
            name=function, builder=builder, args=list(args), kwargs=kwargs, save_as=self._save_name()
        )
        history = protocol.plain(self.ask_function(function, request))
        relative = self.session.stage_from_notebook(
            f"{protocol.MODELS_DIR}/{request.save_as}",
            _("the model trained by {function} could not be saved", function=function),
        )
        return history, self._load(
            relative,
            lambda why: _(
                "The model trained by {function} could not be loaded safely: {why}",
                function=function,
                why=why,
            ),
        )

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
