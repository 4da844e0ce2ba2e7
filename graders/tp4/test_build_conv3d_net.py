"""Hidden checks of ``build_conv3d_net`` (grade cell ``build_conv3d_net_tests``, 3 points)."""

import numpy as np
import pytest

from tpdl import grading
from tpdl.core import i18n

_ = i18n.domain(__file__)

lib = grading.grader_library(__file__)

pytestmark = pytest.mark.cell("build_conv3d_net_tests")

FLAT_LAYERS = {"Conv1D", "Conv2D", "SeparableConv2D", "DepthwiseConv2D", "Conv2DTranspose"}


@pytest.fixture(scope="module")
def default_model(student):
    return student.build_model("build_conv3d_net")


@pytest.mark.points(1)
def test_build_conv3d_net_outputs_class_probabilities(default_model):
    shape = tuple(default_model.description["output_shape"])
    assert shape == (None, 2), _("build_conv3d_net() should output (None, 2), not {shape}", shape=shape)
    x = np.random.default_rng(61).uniform(size=(4, 32, 32, 32, 1)).astype(np.float32)
    out = np.asarray(default_model.predict(x))
    assert np.all(out >= 0) and np.allclose(out.sum(axis=1), 1.0, **lib.PROBABILITIES), _(
        "each output row should be a probability distribution: end with a softmax"
    )


@pytest.mark.points(1)
def test_build_conv3d_net_convolves_in_3d(default_model):
    classes = set(default_model.layer_classes)
    assert "Conv3D" in classes, _("build the network from Conv3D layers")
    flat = sorted(classes & FLAT_LAYERS)
    assert not flat, _("convolve the volume in 3D: no {layers} over slices", layers=", ".join(flat))


@pytest.mark.points(1)
def test_build_conv3d_net_honours_its_arguments(student):
    model = student.build_model("build_conv3d_net", (16, 24, 16, 2), 3)
    x = np.random.default_rng(62).uniform(size=(2, 16, 24, 16, 2)).astype(np.float32)
    out = np.asarray(model.predict(x))
    assert out.shape == (2, 3), _(
        "build_conv3d_net((16, 24, 16, 2), 3) should map (N, 16, 24, 16, 2) to (N, 3), not {shape}",
        shape=out.shape,
    )
