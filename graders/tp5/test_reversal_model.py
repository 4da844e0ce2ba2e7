"""Hidden checks of the handed-in ``reversal.keras`` (grade cell ``reversal_model_tests``, 3 points).

Loaded with ``safe_mode=True`` in a worker that runs no student code, it reads sequences drawn
now; it must reverse them, and its attention must show how: query i reads key L-1-i.
"""

import secrets

import numpy as np
import pytest

from tpdl import i18n

_ = i18n.domain(__file__)

pytestmark = pytest.mark.cell("reversal_model_tests")

MODEL = "reversal.keras"
LENGTH, COUNT, MAX_ERROR = 8, 300, 0.05


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
    assert predictions.shape == (COUNT, LENGTH, 1) and scores.shape[-2:] == (LENGTH, LENGTH), _(
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
    error = float(np.mean(np.abs(predictions - values[:, ::-1])))
    assert error <= MAX_ERROR, _(
        "{model} reverses {count} fresh sequences (seed {seed}) with a mean absolute error of {error:.3f}; "
        "at most {most} is allowed",
        model=MODEL,
        count=COUNT,
        seed=seed,
        error=error,
        most=MAX_ERROR,
    )


@pytest.mark.points(2)
def test_reversal_attention_is_the_anti_diagonal(student, run):
    seed, _values, _predictions, scores = run
    mean_map = scores.reshape(-1, LENGTH, LENGTH).mean(axis=0)
    mass = float(np.mean(mean_map[np.arange(LENGTH), LENGTH - 1 - np.arange(LENGTH)]))
    assert mass >= 0.8, _(
        "on fresh sequences (seed {seed}) {mass:.1%} of each query's attention falls on the anti-diagonal "
        "(query i reading key L-1-i); 80 % is needed",
        seed=seed,
        mass=mass,
    )
    student.note = _("{mass:.1%} of the attention on the anti-diagonal (seed {seed})", mass=mass, seed=seed)
