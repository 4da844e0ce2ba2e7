"""Hidden checks of ``build_cnn`` (grade cell ``build_cnn_tests``, 3 points)."""

import numpy as np
import pytest

from tpdl import grading
from tpdl.core import i18n

_ = i18n.domain(__file__)

lib = grading.grader_library(__file__)

pytestmark = pytest.mark.cell("build_cnn_tests")

RNG = np.random.default_rng(31)


def rescaling_argument(config: dict, key: str, default: float) -> np.ndarray:
    """A Rescaling layer's ``scale`` or ``offset`` (a number, or per channel an array that Keras
    serialises as ``{"class_name": "__numpy__", "config": {"value": ...}}``)."""
    value = config.get(key, default)
    if isinstance(value, dict):
        value = value.get("config", {}).get("value", np.nan)
    try:
        return np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return np.asarray(np.nan)


@pytest.fixture(scope="module")
def default_model(student):
    return student.build_model("build_cnn")


@pytest.mark.points(1)
def test_build_cnn_maps_raw_pixels_to_probabilities(default_model):
    shape = tuple(default_model.description["output_shape"])
    assert shape == (None, 10), _("build_cnn() should output (None, 10), not {shape}", shape=shape)
    assert "Conv2D" in default_model.layer_classes, _("build the network from Conv2D layers")
    rescalings = default_model.layers_of("Rescaling")
    assert rescalings, _("the network should scale the raw pixels itself, with a Rescaling layer first")
    config = rescalings[0]["config"]
    scale, offset = rescaling_argument(config, "scale", 1.0), rescaling_argument(config, "offset", 0.0)
    black, white = offset, 255 * scale + offset  # where the first Rescaling sends pixels 0 and 255
    assert np.allclose(black, 0.0, **lib.PIXELS) and np.allclose(white, 1.0, **lib.PIXELS), _(
        "the first Rescaling layer should scale the raw pixels (0-255) into [0, 1]; yours sends 0 to "
        "{black} and 255 to {white}",
        black=black.tolist(),
        white=white.tolist(),
    )
    x = RNG.integers(0, 256, size=(4, 32, 32, 3)).astype(np.float32)  # raw pixel values
    out = np.asarray(default_model.predict(x))
    assert (
        np.all(np.isfinite(out))
        and np.all(out >= 0)
        and np.allclose(out.sum(axis=1), 1.0, **lib.PROBABILITIES)
    ), _(
        "on images of raw pixel values (0-255) each output row should be a probability distribution: "
        "end with a softmax"
    )


@pytest.mark.points(1)
def test_build_cnn_honours_its_arguments(student):
    model = student.build_model("build_cnn", (28, 28, 1), 5)
    x = RNG.integers(0, 256, size=(2, 28, 28, 1)).astype(np.float32)
    out = np.asarray(model.predict(x))
    assert out.shape == (2, 5), _(
        "build_cnn((28, 28, 1), 5) should map (N, 28, 28, 1) to (N, 5), not {shape}", shape=out.shape
    )


@pytest.mark.points(1)
def test_build_cnn_rejects_bad_input(student):
    student.build_model(
        "build_cnn", (32, 32, 3), 10
    )  # valid input is accepted: refusing everything earns nothing
    shape = (32, 32)
    lib.assert_refuses(student, "build_cnn", shape, what=f"build_cnn({shape})", why=_(" (no channel axis)"))
