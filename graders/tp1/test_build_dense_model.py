"""Hidden checks of ``build_dense_model`` (grade cell ``build_dense_model_tests``, 4 points)."""

import numpy as np
import pytest

from tpdl import grading
from tpdl.core import i18n

_ = i18n.domain(__file__)
lib = grading.grader_library(__file__)

pytestmark = pytest.mark.cell("build_dense_model_tests")

ALLOWED = {"InputLayer", "Dense", "Dropout", "BatchNormalization"}
X = np.random.default_rng(7).random((64, 784), dtype=np.float32)
# What `metrics=` may hold for the accuracy of one-hot labels: "accuracy" or "acc" (Keras picks the
# categorical one for this loss), "categorical_accuracy", or the metric objects of those names;
# compared with case and underscores ignored.
ACCURACY_NAMES = {"accuracy", "acc", "categoricalaccuracy"}


@pytest.fixture(scope="module")
def default_model(student):
    return student.build_model("build_dense_model")


@pytest.mark.points(1)
def test_build_dense_model_is_compiled_for_one_hot_labels(default_model):
    described = default_model.description
    assert described["compiled"], _("compile the model (an optimiser and a loss) before returning it")
    loss = str(described["loss"] or "")
    assert "categorical_crossentropy" in loss and "sparse" not in loss, _(
        "compile with the categorical cross-entropy loss: the labels are one-hot"
    )
    names = {str(n).lower().replace("_", "") for n in described.get("metrics") or []}
    assert names & ACCURACY_NAMES, _(
        "compile with the accuracy metric (metrics=[...]): training should report the accuracy"
    )


@pytest.mark.points(1)
def test_build_dense_model_uses_only_dense_layers(default_model):
    others = sorted(set(default_model.layer_classes) - ALLOWED)
    assert not others, _(
        "only Dense, Dropout and BatchNormalization layers are allowed, not {layers}",
        layers=", ".join(others),
    )
    assert "Dense" in default_model.layer_classes, _("the model needs Dense layers")


@pytest.mark.points(1)
def test_build_dense_model_outputs_probabilities(default_model):
    out = np.asarray(default_model.predict(X))
    assert out.shape == (64, 10), _(
        "for 64 images the model should output (64, 10), not {shape}", shape=out.shape
    )
    assert np.all(out >= 0) and np.allclose(out.sum(axis=1), 1.0, **lib.PROBABILITIES), _(
        "each output row should be a probability distribution: end with a softmax"
    )


@pytest.mark.points(1)
def test_build_dense_model_honours_its_arguments(student):
    model = student.build_model("build_dense_model", input_dim=50, n_classes=3)
    out = np.asarray(model.predict(X[:5, :50]))
    assert out.shape == (5, 3), _("with input_dim=50 and n_classes=3 the model should map (N, 50) to (N, 3)")
