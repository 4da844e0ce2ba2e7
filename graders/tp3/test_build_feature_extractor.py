"""Hidden checks of ``build_feature_extractor`` (grade cell ``build_feature_extractor_tests``, 3 points).

The extractor is built with random weights (``weights=None``) in the student's process, saved and
loaded safely; its activations are compared with a NumPy VGG16 computed with its own weights.
"""

import numpy as np
import pytest

from tpdl import grading
from tpdl.core import i18n

_ = i18n.domain(__file__)

lib = grading.grader_library(__file__)
# VGG16's activations grow layer by layer: each is compared to a share of its own largest value.
ACTIVATION_SHARE = 1e-3

pytestmark = pytest.mark.cell("build_feature_extractor_tests")

STYLE = ["block1_conv1", "block1_conv2", "block2_conv1"]
CONTENT = "block2_conv2"
CHANNELS = {"block1_conv1": 64, "block1_conv2": 64, "block2_conv1": 128, "block2_conv2": 128}
VGG_ORDER = ["block1_conv1", "block1_conv2", "block1_pool", "block2_conv1", "block2_conv2"]
MAX_PARAMETERS = 2_000_000  # up to block2_conv2, VGG16 holds 260,160


@pytest.fixture(scope="module")
def extractor(student):
    return student.build_model("build_feature_extractor", STYLE, CONTENT, weights=None)


@pytest.mark.points(1)
def test_build_feature_extractor_outputs_the_named_layers(student, extractor):
    shapes = extractor.description["output_shape"]
    expected = [[None, None, None, CHANNELS[name]] for name in [*STYLE, CONTENT]]
    assert shapes == expected, _(
        "build_feature_extractor({style}, {content}) should output a list of the 3 style layers' "
        "activations then the content layer's, of shapes {expected}, not {shapes}",
        style=STYLE,
        content=repr(CONTENT),
        expected=expected,
        shapes=shapes,
    )
    lib.assert_refuses(
        student,
        "build_feature_extractor",
        ["block1_conv1", "block9_conv9"],
        CONTENT,
        weights=None,
        what=_("a layer VGG16 does not have (block9_conv9)"),
    )


@pytest.mark.points(1)
def test_build_feature_extractor_is_frozen(extractor):
    trainable = extractor.description["trainable_params"]
    assert trainable == 0, _(
        "the extractor should be frozen (only the image is optimised), but {trainable:,} of its "
        "parameters are trainable",
        trainable=trainable,
    )


def conv_relu(x, kernel, bias):
    return lib.relu(lib.conv2d(x, kernel, bias))


def reference_activations(weights: dict, image):
    """VGG16's activations up to block2_conv2, by layer name, in float64."""
    activations, x = {}, image.astype(np.float64)
    for name in VGG_ORDER:
        if name.endswith("pool"):
            n, h, w, c = x.shape
            x = x.reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))
        else:
            x = conv_relu(x, *weights[name])
        activations[name] = x
    return activations


@pytest.mark.points(1)
def test_build_feature_extractor_computes_vgg_activations(extractor):
    count = extractor.description["count_params"]
    assert count <= MAX_PARAMETERS, _(
        "the extractor holds {count:,} parameters: build it from VGG16's input to the named layers' "
        "outputs, so that it keeps only the layers they need",
        count=count,
    )
    arrays = iter(extractor.get_weights())
    weights = {
        layer["name"]: [next(arrays), next(arrays)] for layer in extractor.layers_of("Conv2D")
    }  # VGG16's convolutions have biases
    missing = [name for name in VGG_ORDER if not name.endswith("pool") and name not in weights]
    assert not missing, _("the extractor lacks VGG16's layers {layers}", layers=", ".join(missing))
    image = np.random.default_rng(67).normal(0, 50, size=(2, 16, 16, 3)).astype(np.float32)
    outputs = extractor.predict(image)
    expected = reference_activations(weights, image)
    for name, output in zip([*STYLE, CONTENT], outputs):
        reference = expected[name]
        output = np.asarray(output)
        assert output.shape == reference.shape and np.allclose(
            output, reference, rtol=lib.TENSORS["rtol"], atol=ACTIVATION_SHARE * np.abs(reference).max()
        ), _(
            "the extractor's output for {name} is not VGG16's activation of {name} "
            "(the outputs should be the style layers', in order, then the content layer's)",
            name=name,
        )
