"""Hidden checks of the handed-in ``reversal.keras`` (grade cell ``reversal_model_tests``, 3 points).

Loaded with ``safe_mode=True`` in a worker that runs no student code, it reads sequences drawn now; it must
reverse them, and its attention must show how: query i reads key L-1-i. Both are means of per-sequence figures
in [0, 1], decided with a stated error rate (``tpdl.grading.means.BoundedMean``).
"""

import secrets

import numpy as np
import pytest

from tpdl.core import i18n, manifest
from tpdl.grading.means import BoundedMean

_ = i18n.domain(__file__)

MANIFEST = manifest.beside(__file__)

pytestmark = pytest.mark.cell("reversal_model_tests")

MODEL = "reversal.keras"
LENGTH, COUNT = 8, MANIFEST.samples["reversal_sequences"]

# The reference's reversal.keras, on 6,000 sequences of seed 7: a mean absolute error of 0.0056 and
# 97.4 % of the attention on the anti-diagonal.
ERROR = BoundedMean(
    name="reversal's mean absolute error on fresh sequences (predictions clipped to [0, 1])",
    threshold=MANIFEST.thresholds["reversal_error"],
    n=COUNT,
    sample=f"{COUNT:,} fresh sequences",
    margin=MANIFEST.samples["reversal_error_margin"],
    reference=0.0056,
    at_most=True,
)
ANTI_DIAGONAL = BoundedMean(
    name="reversal's attention on the anti-diagonal, fresh sequences",
    threshold=MANIFEST.thresholds["anti_diagonal_attention"],
    n=COUNT,
    sample=f"{COUNT:,} fresh sequences",
    margin=MANIFEST.samples["anti_diagonal_margin"],
    reference=0.974,
)
STATED_CHECKS = [ERROR, ANTI_DIAGONAL]


@pytest.fixture(scope="module")
def run(student):
    saved = student.saved_model(MODEL)
    seed = secrets.randbelow(2**31)
    values = np.random.default_rng(seed).uniform(size=(COUNT, LENGTH, 1)).astype(np.float32)
    positions = np.broadcast_to(np.arange(LENGTH, dtype=np.int32), (COUNT, LENGTH)).copy()
    outputs = saved.predict([values, positions])
    assert isinstance(outputs, list) and len(outputs) == 2, _(
        "{model} should take [values, positions] and return [values read back, attention scores]", model=MODEL
    )
    predictions, scores = (np.asarray(o) for o in outputs)
    shapes_right = predictions.shape == (COUNT, LENGTH, 1) and scores.ndim >= 3 and scores.shape[0] == COUNT
    assert shapes_right and scores.shape[-2:] == (LENGTH, LENGTH), _(
        "{model} outputs shapes {predictions_shape} and {scores_shape}; expected "
        "(N, {length}, 1) and (N, heads, {length}, {length})",
        model=MODEL,
        predictions_shape=predictions.shape,
        scores_shape=scores.shape,
        length=LENGTH,
    )
    return seed, values, predictions, scores


@pytest.mark.points(1)
def test_reversal_model_reverses_fresh_sequences(run):
    seed, values, predictions, _scores = run
    errors = np.abs(np.clip(predictions, 0, 1) - values[:, ::-1]).mean(
        axis=(1, 2)
    )  # (COUNT,), each in [0, 1]
    assert ERROR.passes(errors), _(
        "{model} reverses {count} fresh sequences (seed {seed}) with a mean absolute error of {error:.3f}: "
        "above {critical:.3f}, this shows that its error is over the {most} allowed",
        model=MODEL,
        count=COUNT,
        seed=seed,
        error=float(errors.mean()),
        critical=ERROR.critical,
        most=ERROR.threshold,
    )


@pytest.mark.points(2)
def test_reversal_attention_is_the_anti_diagonal(student, run):
    seed, _values, _predictions, scores = run
    maps = scores.reshape(COUNT, -1, LENGTH, LENGTH).mean(axis=1)  # (COUNT, L, L): over the heads
    masses = np.clip(
        maps[:, np.arange(LENGTH), LENGTH - 1 - np.arange(LENGTH)].mean(axis=1), 0, 1
    )  # (COUNT,)
    mass = float(masses.mean())
    assert ANTI_DIAGONAL.passes(masses), _(
        "on {count} fresh sequences (seed {seed}) {mass:.1%} of each query's attention falls on the "
        "anti-diagonal (query i reading key L-1-i): below {critical:.1%}, this shows that it is under the "
        "{needed:.0%} needed",
        count=COUNT,
        seed=seed,
        mass=mass,
        critical=ANTI_DIAGONAL.critical,
        needed=ANTI_DIAGONAL.threshold,
    )
    student.note = _("{mass:.1%} of the attention on the anti-diagonal (seed {seed})", mass=mass, seed=seed)
