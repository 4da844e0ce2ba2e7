"""What training costs, measured before it starts, and training that leaves a deliverable behind.

A training cell first times a few steps of the student's design and extrapolates::

    estimate = costs.preflight(model, x_train, y_train, epochs=EPOCHS, batch_size=128,
                               limit=costs.Limit(parameters=1_500_000, epoch_s=30))
    print(estimate)  # 669,706 parameters; about 11 s an epoch, 2.2 min for 12 epochs

and warns (a ``CostWarning``, printed in the notebook) when the design is above the TP's budget,
before minutes are spent. Then ``costs.callbacks("mnist_dense.keras", BUDGET)`` saves the best
model as training goes (an interrupted run still leaves a deliverable) and records how it was
trained beside it (``mnist_dense.keras.training.json``: the budget, epochs, seconds), which
``tpdl check`` reads.
"""

import json
import math
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

RECORD_SUFFIX = ".training.json"
TIMED_STEPS = 3  # after one untimed step, which traces the model


class CostWarning(UserWarning):
    """A design above the TP's budget: training it would take longer than the course plans."""


@dataclass(frozen=True)
class Limit:
    """A TP's budget for one design on 2 cores: its parameters and the seconds an epoch may take."""

    parameters: int
    epoch_s: float


@dataclass(frozen=True)
class Estimate:
    parameters: int
    step_s: float  # one training step of ``batch_size`` examples
    steps_per_epoch: int
    epochs: int
    limit: Limit | None = None

    @property
    def epoch_s(self) -> float:
        return self.step_s * self.steps_per_epoch

    @property
    def total_s(self) -> float:
        return self.epoch_s * self.epochs

    @property
    def problems(self) -> list[str]:
        """What exceeds the limit, in words (nothing without a limit)."""
        if self.limit is None:
            return []
        found = []
        if self.parameters > self.limit.parameters:
            found.append(f"{self.parameters:,} parameters, above the {self.limit.parameters:,} planned")
        if self.epoch_s > self.limit.epoch_s:
            found.append(
                f"about {_duration(self.epoch_s)} an epoch, above the {_duration(self.limit.epoch_s)} planned"
            )
        return found

    def __str__(self) -> str:
        text = (f"{self.parameters:,} parameters; about {_duration(self.epoch_s)} an epoch, "
                f"{_duration(self.total_s)} for {self.epochs} epoch{'s' if self.epochs != 1 else ''}")  # fmt: skip
        if self.limit is not None:
            text += (f" (planned: at most {self.limit.parameters:,} parameters and "
                     f"{_duration(self.limit.epoch_s)} an epoch)")  # fmt: skip
        return text


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def preflight(model, x, y, *, epochs: int, batch_size: int, limit: Limit | None = None,
              validation_split: float = 0.0) -> Estimate:  # fmt: skip
    """Time ``TIMED_STEPS`` training steps of the compiled ``model`` on batches of ``x``, ``y`` and
    extrapolate to ``epochs`` epochs; the model's weights are restored afterwards (its optimiser
    keeps the few steps' state). Warns with :class:`CostWarning` above ``limit``."""
    if not getattr(model, "optimizer", None) or not getattr(model, "compiled", True):
        raise ValueError("compile the model before estimating what training it costs")
    if batch_size < 1 or epochs < 1:
        raise ValueError("epochs and batch_size must be at least 1")
    inputs = x if isinstance(x, (list, tuple)) else [x]
    count = len(inputs[0])
    if count == 0:
        raise ValueError("no training data to time a step on")

    def batch(i: int):
        start = (i * batch_size) % max(1, count - batch_size + 1)
        xs = [a[start : start + batch_size] for a in inputs]
        return (xs if isinstance(x, (list, tuple)) else xs[0]), y[start : start + batch_size]

    weights = model.get_weights()
    try:
        model.train_on_batch(*batch(0))  # traces the step: not timed
        times = []
        for i in range(1, TIMED_STEPS + 1):
            started = time.perf_counter()
            model.train_on_batch(*batch(i))
            times.append(time.perf_counter() - started)
    finally:
        model.set_weights(weights)
    trained = math.ceil(count * (1.0 - validation_split))
    estimate = Estimate(model.count_params(), sorted(times)[len(times) // 2], math.ceil(trained / batch_size),
                        epochs, limit)  # fmt: skip
    for problem in estimate.problems:
        warnings.warn(f"this design is costly to train: {problem}; consider a smaller one first "
                      "(pooling early, fewer filters or units)", CostWarning, stacklevel=2)  # fmt: skip
    return estimate


def record_path(model_path) -> Path:
    return Path(f"{model_path}{RECORD_SUFFIX}")


def read_record(model_path) -> dict | None:
    """The training record beside a saved model, or None (absent or unreadable)."""
    try:
        record = json.loads(record_path(model_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def callbacks(save_as, budget, monitor: str = "val_loss", mode: str = "min") -> list:
    """Keras callbacks for a training cell: the best model so far saved to ``save_as`` after each
    epoch, and a record of the training beside it (updated each epoch, so an interrupted run
    leaves a true one)."""
    import keras

    class Record(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.started, self.epochs = time.monotonic(), 0

        def on_epoch_end(self, epoch, logs=None):
            self.epochs = epoch + 1
            record = {"budget": budget.name, "epochs": self.epochs,
                      "seconds": round(time.monotonic() - self.started, 1),
                      "metrics": {k: float(v) for k, v in (logs or {}).items()}}  # fmt: skip
            record_path(save_as).write_text(json.dumps(record, indent=2), encoding="utf-8")

    return [
        keras.callbacks.ModelCheckpoint(str(save_as), monitor=monitor, mode=mode, save_best_only=True),
        Record(),
    ]
