"""Hidden checks of ``conv_block``, ``encoder_block`` and ``decoder_block`` (grade cell
``unet_blocks_tests``, 4 points).

Each block is applied to ``keras.Input`` tensors in the student's process and saved as a model,
which the judge loads safely, gives its own weights and compares with a NumPy reference.
"""

import numpy as np
import pytest

from tpdl import grading
from tpdl.core import i18n
from tpdl.grading import as_array

_ = i18n.domain(__file__)

lib = grading.grader_library(__file__)

pytestmark = pytest.mark.cell("unet_blocks_tests")

RNG = np.random.default_rng(47)


def reference_conv_block(x, weights):
    k1, b1, k2, b2 = weights
    return lib.relu(lib.conv2d(lib.relu(lib.conv2d(x, k1, b1)), k2, b2))


def conv_block_weights(model, channels, filters, what):
    """The judge's weights for a conv block, after checking the model holds what one holds."""
    expected = [(3, 3, channels, filters), (filters,), (3, 3, filters, filters), (filters,)]
    shapes = [tuple(np.shape(w)) for w in model.get_weights()]
    assert shapes == expected, _(
        "{what} should hold two 3x3 convolutions with their biases ({channels} channels in, "
        "{filters} filters), with weights of shapes {expected}, not {shapes}",
        what=what,
        channels=channels,
        filters=filters,
        expected=expected,
        shapes=shapes,
    )
    weights = [RNG.normal(0, 0.3, shape) for shape in expected]
    model.set_weights([w.astype(np.float32) for w in weights])
    return weights


@pytest.mark.points(1)
def test_conv_block_is_two_relu_convolutions(student):
    model = student.block_model("conv_block", [(10, 12, 3)], 5)
    shape = tuple(model.description["output_shape"])
    assert shape == (None, 10, 12, 5), _(
        "conv_block(x, 5) on (None, 10, 12, 3) should give (None, 10, 12, 5), not {shape}", shape=shape
    )
    weights = conv_block_weights(model, 3, 5, "conv_block")
    x = RNG.normal(size=(4, 10, 12, 3)).astype(np.float32)
    out = as_array(model.predict(x), _("the output of conv_block"), (4, 10, 12, 5))
    assert np.allclose(out, reference_conv_block(x, weights), **lib.FLOAT32_CHAIN), _(
        "with the same weights, conv_block does not compute conv3x3 -> ReLU -> conv3x3 -> ReLU "
        "('same' padding)"
    )


@pytest.mark.points(1)
def test_encoder_block_returns_the_skip_and_its_pooling(student):
    model = student.block_model("encoder_block", [(8, 12, 2)], 4)
    shapes = model.description["output_shape"]
    assert shapes == [[None, 8, 12, 4], [None, 4, 6, 4]], _(
        "encoder_block(x, 4) on (None, 8, 12, 2) should return (skip, down) of shapes (None, 8, 12, 4) "
        "and (None, 4, 6, 4), not {shapes}",
        shapes=shapes,
    )
    weights = conv_block_weights(model, 2, 4, "encoder_block")
    x = RNG.normal(size=(3, 8, 12, 2)).astype(np.float32)
    outputs = model.predict(x)
    skip = as_array(outputs[0], _("the skip of encoder_block"), (3, 8, 12, 4))
    down = as_array(outputs[1], _("the down output of encoder_block"), (3, 4, 6, 4))
    expected = reference_conv_block(x, weights)
    assert np.allclose(skip, expected, **lib.FLOAT32_CHAIN), _("the skip should be conv_block of the input")
    assert np.allclose(down, lib.max_pool(expected), **lib.FLOAT32_CHAIN), _(
        "down should be the skip, max-pooled by 2"
    )


@pytest.fixture(scope="module")
def decoder(student):
    return student.block_model("decoder_block", [(6, 6, 8), (12, 12, 4)], 4)


@pytest.mark.points(1)
def test_decoder_block_shape_and_parameters(decoder):
    shape = tuple(decoder.description["output_shape"])
    assert shape == (None, 12, 12, 4), _(
        "decoder_block(x, skip, 4) with x (None, 6, 6, 8) and skip (None, 12, 12, 4) should give "
        "(None, 12, 12, 4), not {shape}",
        shape=shape,
    )
    up, block = 2 * 2 * 8 * 4 + 4, (3 * 3 * 8 * 4 + 4) + (3 * 3 * 4 * 4 + 4)
    count = decoder.description["count_params"]
    assert count == up + block, _(
        "decoder_block holds {count} parameters; a 2x2 up-sampling to 4 filters and a conv block "
        "on the concatenation hold {total}",
        count=count,
        total=up + block,
    )


@pytest.mark.points(1)
def test_decoder_block_concatenates_the_skip_on_channels(decoder):
    concatenations = decoder.layers_of("Concatenate")
    assert len(concatenations) == 1, _(
        "decoder_block should concatenate once, not {count} times", count=len(concatenations)
    )
    joined = concatenations[0]
    skip_input = next(
        (
            layer["name"]
            for layer in decoder.layers_of("InputLayer")
            if layer["output_shape"] == [None, 12, 12, 4]
        ),
        None,
    )
    assert skip_input in joined["inbound"], _(
        "decoder_block should concatenate the skip itself, as it is given"
    )
    assert joined["inbound"][-1] == skip_input, _(
        "decoder_block should concatenate in the specified order: the up-sampled x first, the skip after "
        "it (the conv block's weights read the channels in that order)"
    )
    assert joined["config"].get("axis") in (-1, 3), _("concatenate on the channel axis (the last one)")
    others = [decoder.layer(name) for name in joined["inbound"] if name != skip_input]
    assert len(others) == 1 and others[0]["output_shape"] == [None, 12, 12, 4], _(
        "decoder_block should concatenate the up-sampled x (4 filters, the skip's resolution) with the skip"
    )
