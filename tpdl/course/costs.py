"""What training costs, measured before it starts, and training that leaves a deliverable behind.

A training cell first times a few steps of the student's design and extrapolates::

    estimate = costs.preflight(model, x_train, y_train, epochs=EPOCHS, batch_size=128,
                               limit=costs.Limit(parameters=1_500_000, epoch_s=30))
    print(estimate)  # 669,706 parameters; 22 s of CPU time an epoch: ... 11 s to 22 s an epoch, ...

The steps are timed in CPU time: the seconds the process's threads (TensorFlow's included) spend
computing, which other programs on the machine do not change, where the clock's time grows with
them. On this machine's free cores an epoch takes between its CPU-seconds shared out over all of
them and the CPU-seconds themselves (one core at a time). A :class:`Limit` is the course's plan:
seconds an epoch on the 2 cores the references were measured on (``REFERENCE_CORES``; the figures
each notebook states come from ``make bench``), so a design is compared with it by its
CPU-seconds over 2 (the least it can take there), whatever the machine, and warned of (a
``CostWarning``, printed in the notebook) above the plan, before minutes are spent. Then
``costs.callbacks("unet.keras", BUDGET)`` tells the time left after each epoch, saves the best
model so far as training goes (an interrupted run still leaves a deliverable) and records how it
was trained beside it (``unet.keras.training.json``: the budget, epochs, seconds), which ``tpdl
check`` reads; ``costs.write_record`` records a training that ran without these callbacks.
"""

import json
import math
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

from tpdl.core import i18n
from tpdl.core.i18n import KIT as _

RECORD_SUFFIX = ".training.json"
TIMED_STEPS = 3  # after one untimed step, which traces the model
REFERENCE_CORES = 2  # the references' costs, and so every Limit, were measured on 2 cores


class CostWarning(UserWarning):
    """A design above the TP's budget: training it would take longer than the course plans."""


@dataclass(frozen=True)
class Limit:
    """A TP's budget for one design: its parameters and the seconds an epoch may take on the
    references' 2 free cores (``REFERENCE_CORES``)."""

    parameters: int
    epoch_s: float


def usable_cores() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # no affinity outside Linux
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class Estimate:
    parameters: int
    step_cpu_s: float  # CPU-seconds of one training step of ``batch_size`` examples, all threads
    steps_per_epoch: int
    epochs: int
    limit: Limit | None = None
    cores: int = REFERENCE_CORES  # this machine's, that the wall-clock figures assume free
    step_wall_s: float = 0.0  # the same step on the clock, other programs' load included: not used

    @property
    def epoch_cpu_s(self) -> float:
        return self.step_cpu_s * self.steps_per_epoch

    @property
    def total_cpu_s(self) -> float:
        return self.epoch_cpu_s * self.epochs

    @property
    def epoch_s(self) -> tuple[float, float]:
        """An epoch's seconds on this machine's cores, free: from all of them at work (the CPU time
        shared out) to one at a time (the CPU time itself)."""
        return self.epoch_cpu_s / self.cores, self.epoch_cpu_s

    @property
    def planned_epoch_s(self) -> float:
        """The fewest seconds an epoch can take on the references' free cores: compared with the limit."""
        return self.epoch_cpu_s / REFERENCE_CORES

    @property
    def problems(self) -> list[str]:
        """What exceeds the limit, in words (nothing without a limit)."""
        if self.limit is None:
            return []
        found = []
        if self.parameters > self.limit.parameters:
            found.append(
                _(
                    "{parameters:,} parameters, above the {planned:,} planned",
                    parameters=self.parameters,
                    planned=self.limit.parameters,
                )
            )
        if self.planned_epoch_s > self.limit.epoch_s:
            found.append(
                _(
                    "at least {epoch} an epoch on {cores} cores, above the {planned} planned",
                    epoch=_duration(self.planned_epoch_s),
                    cores=REFERENCE_CORES,
                    planned=_duration(self.limit.epoch_s),
                )
            )
        return found

    def __str__(self) -> str:
        (fastest, slowest), epochs = self.epoch_s, self.epochs
        cpu = _duration(self.epoch_cpu_s)
        least, most = _duration(fastest * epochs), _duration(slowest * epochs)
        if epochs == 1:
            line = _(
                "{parameters:,} parameters; {cpu} of CPU time an epoch: on this "
                "machine's {cores} cores, when nothing else runs, {fastest} to "
                "{slowest} an epoch, {least} to {most} for {epochs} epoch",
                parameters=self.parameters,
                cpu=cpu,
                cores=self.cores,
                fastest=_duration(fastest),
                slowest=_duration(slowest),
                least=least,
                most=most,
                epochs=epochs,
            )
        else:
            line = _(
                "{parameters:,} parameters; {cpu} of CPU time an epoch: on this "
                "machine's {cores} cores, when nothing else runs, {fastest} to "
                "{slowest} an epoch, {least} to {most} for {epochs} epochs",
                parameters=self.parameters,
                cpu=cpu,
                cores=self.cores,
                fastest=_duration(fastest),
                slowest=_duration(slowest),
                least=least,
                most=most,
                epochs=epochs,
            )
        if self.limit is None:
            return line
        return _(
            "{estimate} (planned: at most {planned:,} parameters and {planned_epoch} an epoch on the "
            "reference's {cores} cores)",
            estimate=line,
            planned=self.limit.parameters,
            planned_epoch=_duration(self.limit.epoch_s),
            cores=REFERENCE_CORES,
        )


def _duration(seconds: float) -> str:
    """A duration as the student's language writes it (``4.4 s``, ``4,4 s``)."""
    if seconds < 90:
        return f"{i18n.number(seconds, '.1f' if seconds < 10 else '.0f')} s"
    if seconds < 5400:
        return f"{i18n.number(seconds / 60, '.1f')} min"
    return f"{i18n.number(seconds / 3600, '.1f')} h"


def preflight(
    model,
    x,
    y,
    *,
    epochs: int,
    batch_size: int,
    limit: Limit | None = None,
    validation_split: float = 0.0,
    examples: int | None = None,
) -> Estimate:
    """Time ``TIMED_STEPS`` training steps of the compiled ``model`` on batches of ``x``, ``y`` in
    CPU time and extrapolate to ``epochs`` epochs of ``examples`` (default: all of ``x``); the
    model's weights and its optimiser's state are restored afterwards. Warns with
    :class:`CostWarning` above ``limit``."""
    if not getattr(model, "optimizer", None) or not getattr(model, "compiled", True):
        raise ValueError(_("compile the model before estimating what training it costs"))
    if batch_size < 1 or epochs < 1:
        raise ValueError(_("epochs and batch_size must be at least 1"))
    inputs = x if isinstance(x, (list, tuple)) else [x]
    count = len(inputs[0])
    if count == 0:
        raise ValueError(_("no training data to time a step on"))

    def batch(i: int):
        start = (i * batch_size) % max(1, count - batch_size + 1)
        xs = [a[start : start + batch_size] for a in inputs]
        return (xs if isinstance(x, (list, tuple)) else xs[0]), y[start : start + batch_size]

    optimizer = model.optimizer
    if not getattr(optimizer, "built", True):
        optimizer.build(model.trainable_variables)  # its fresh state, to come back to
    weights = model.get_weights()
    state = [v.numpy() for v in getattr(optimizer, "variables", [])]
    try:
        model.train_on_batch(*batch(0))  # traces the step: not timed
        cpu, wall = [], []
        for i in range(1, TIMED_STEPS + 1):
            started, started_cpu = time.perf_counter(), time.process_time()  # every thread of the process
            model.train_on_batch(*batch(i))
            cpu.append(time.process_time() - started_cpu)
            wall.append(time.perf_counter() - started)
    finally:
        model.set_weights(weights)
        for variable, value in zip(getattr(optimizer, "variables", []), state):
            variable.assign(value)
    trained = math.ceil((examples or count) * (1.0 - validation_split))
    estimate = Estimate(
        model.count_params(),
        sorted(cpu)[len(cpu) // 2],
        math.ceil(trained / batch_size),
        epochs,
        limit,
        usable_cores(),
        sorted(wall)[len(wall) // 2],
    )
    for problem in estimate.problems:
        warnings.warn(
            _(
                "this design is costly to train: {problem}; consider a smaller one first "
                "(pooling early, fewer filters or units)",
                problem=problem,
            ),
            CostWarning,
            stacklevel=2,
        )
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


def serving_copy(model):
    """The model's architecture and weights, without its optimiser or loss (a service predicts, it
    does not train); the model itself where it has no config to rebuild it from."""
    try:
        copy = type(model).from_config(model.get_config())
        copy.set_weights(model.get_weights())
    except Exception:  # noqa: BLE001 - a subclassed model without get_config: saved as it is
        return model
    return copy


def write_record(model_path, budget, epochs: int, seconds: float, metrics: dict | None = None) -> Path:
    """Record beside ``model_path`` how it was trained (read by ``tpdl check``)."""
    record = {
        "budget": budget.name,
        "epochs": int(epochs),
        "seconds": round(float(seconds), 1),
        "metrics": {k: float(v) for k, v in (metrics or {}).items()},
    }
    path = record_path(model_path)
    path.write_text(json.dumps(record, indent=2), encoding="utf-8")
    return path


def callbacks(save_as, budget, monitor: str | None = "val_loss", mode: str = "min", model=None) -> list:
    """Keras callbacks for a training cell: after each epoch, the time left (extrapolated from the
    epochs so far), the best model so far (by ``monitor``; with ``None``, the latest) saved to
    ``save_as`` as a serving copy (so that an interrupted run leaves a deliverable), and the record
    of its training beside it. ``model`` is the part to save when training wraps it (augmentation
    layers around a network)."""
    import keras

    class KeepTheBest(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.started, self.best = time.monotonic(), None
            self.epochs = self.params.get("epochs") or 0

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            elapsed = time.monotonic() - self.started
            left = elapsed / (epoch + 1) * (self.epochs - epoch - 1)
            value = logs.get(monitor) if monitor else None
            better = value is not None and (
                self.best is None or (value < self.best if mode == "min" else value > self.best)
            )
            if better or value is None:
                self.best = value
                serving_copy(model if model is not None else self.model).save(save_as)
                write_record(save_as, budget, epoch + 1, elapsed, logs)
            number, spent, remaining = epoch + 1, _duration(elapsed), _duration(left)
            if better:
                print(
                    _(
                        "epoch {epoch}/{epochs}: {elapsed} so far, about "
                        "{left} left; {file} kept ({monitor} {value:.4f})",
                        epoch=number,
                        epochs=self.epochs,
                        elapsed=spent,
                        left=remaining,
                        file=save_as,
                        monitor=monitor,
                        value=value,
                    )
                )
            elif value is None:
                print(
                    _(
                        "epoch {epoch}/{epochs}: {elapsed} so far, about {left} left; {file} saved",
                        epoch=number,
                        epochs=self.epochs,
                        elapsed=spent,
                        left=remaining,
                        file=save_as,
                    )
                )
            else:
                print(
                    _(
                        "epoch {epoch}/{epochs}: {elapsed} so far, about {left} left",
                        epoch=number,
                        epochs=self.epochs,
                        elapsed=spent,
                        left=remaining,
                    )
                )

    return [KeepTheBest()]


def require(passed: bool, message: str, budget) -> None:
    """A threshold the hidden tests apply, in a notebook's own test cell: asserted on the full
    budget; on the ci budget, said out loud (a model trained on it is not expected to pass, and
    must not be handed in)."""
    if budget.is_full:
        assert passed, message
        return
    if not passed:
        print(
            _(
                "ci budget: {message} (below what the hidden tests "
                "require); train on the full budget before you hand it in",
                message=message,
            )
        )
    else:
        print(
            _(
                "ci budget: {message} (not checked); train on the full budget before you hand it in",
                message=message,
            )
        )
