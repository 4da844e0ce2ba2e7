"""The training cells' cost estimate and the callbacks that leave a deliverable behind."""

import json
import warnings

import numpy as np
import pytest

from tpdl import budget, costs

RNG = np.random.default_rng(3)
X = RNG.random((512, 784), dtype=np.float32)
Y = np.eye(10, dtype=np.float32)[RNG.integers(0, 10, 512)]


def dense(*units):
    import keras

    model = keras.Sequential([keras.Input((784,)), *[keras.layers.Dense(u, activation="relu") for u in units],
                              keras.layers.Dense(10, activation="softmax")])  # fmt: skip
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def test_a_design_within_its_budget_gets_no_warning_and_keeps_its_weights():
    model = dense(32)
    before = model.get_weights()
    with warnings.catch_warnings():
        warnings.simplefilter("error", costs.CostWarning)
        estimate = costs.preflight(model, X, Y, epochs=3, batch_size=64, limit=costs.Limit(100_000, 60))
    assert estimate.parameters == model.count_params() and estimate.steps_per_epoch == 8
    assert 0 < estimate.epoch_s < 60 and estimate.total_s == pytest.approx(3 * estimate.epoch_s)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    assert "parameters" in str(estimate) and "planned" in str(estimate)


def test_a_costly_design_is_warned_of_before_training():
    model = dense(1024, 1024)
    with pytest.warns(costs.CostWarning, match="parameters, above"):
        estimate = costs.preflight(model, X, Y, epochs=12, batch_size=64, limit=costs.Limit(200_000, 3600))
    assert estimate.problems and len(estimate.problems) == 1
    with pytest.warns(costs.CostWarning, match="an epoch, above"):
        costs.preflight(model, X, Y, epochs=1, batch_size=64, limit=costs.Limit(10**9, 1e-6))


def test_preflight_refuses_what_it_cannot_time():
    import keras

    model = keras.Sequential([keras.Input((784,)), keras.layers.Dense(10)])
    with pytest.raises(ValueError, match="compile"):
        costs.preflight(model, X, Y, epochs=1, batch_size=64)
    with pytest.raises(ValueError, match="no training data"):
        costs.preflight(dense(8), X[:0], Y[:0], epochs=1, batch_size=64)


def test_the_callbacks_save_the_best_model_and_record_the_training(tmp_path):
    import keras

    target = tmp_path / "model.keras"
    dense(16).fit(X, Y, epochs=2, batch_size=128, validation_split=0.25, verbose=0,
                  callbacks=costs.callbacks(target, budget.Budget("ci")))  # fmt: skip
    assert keras.saving.load_model(target).count_params() > 0
    record = costs.read_record(target)
    assert record["budget"] == "ci" and record["epochs"] == 2 and "val_loss" in record["metrics"]
    costs.record_path(target).write_text("not json")
    assert costs.read_record(target) is None
    assert json.loads(json.dumps(record)) == record
