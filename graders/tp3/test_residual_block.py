"""Hidden checks of ``residual_block`` (grade cell ``residual_block_tests``, 5 points).

The block is applied to a ``keras.Input`` in the student's process and saved as a model, which the
judge loads safely. Its graph says which layer feeds which; with the judge's weights (batch
normalisations with non-trivial statistics), its output is compared with a NumPy block.
"""

import numpy as np
import pytest

from tpdl import grading
from tpdl.core import i18n
from tpdl.grading import as_array

_ = i18n.domain(__file__)

lib = grading.grader_library(__file__)

pytestmark = pytest.mark.cell("residual_block_tests")

RNG = np.random.default_rng(53)
CHANNELS = 4
# (filters, stride) -> the shortcut the block needs
CASES = {(4, 1): "identity", (6, 1): "projection", (4, 2): "projection", (6, 2): "projection"}


@pytest.fixture(scope="module")
def blocks(student):
    """The block of each case, applied to (None, 8, 8, 4), described (only the last one built stays
    loaded in the judge's worker); a case the student's code cannot build is its message."""
    from tpdl.grading import StudentCodeError

    built = {}
    for filters, stride in CASES:
        try:
            built[filters, stride] = student.block_model(
                "residual_block", [(8, 8, CHANNELS)], filters, stride
            )
        except StudentCodeError as error:
            built[filters, stride] = str(error)
    return built


def block(blocks, filters, stride):
    model = blocks[filters, stride]
    assert not isinstance(model, str), _(
        "residual_block(x, {filters}, stride={stride}) on x of shape (None, 8, 8, {channels}) "
        "could not be built: {error}",
        filters=filters,
        stride=stride,
        channels=CHANNELS,
        error=model,
    )
    return model


def expected_parameters(filters, stride):
    main = 9 * CHANNELS * filters + 9 * filters * filters + 2 * 4 * filters
    projection = CHANNELS * filters + 4 * filters
    return main + (projection if CASES[filters, stride] == "projection" else 0)


@pytest.mark.points(1)
def test_residual_block_output_shapes(blocks):
    for filters, stride in CASES:
        shape = tuple(block(blocks, filters, stride).description["output_shape"])
        side = 8 // stride
        assert shape == (None, side, side, filters), _(
            "residual_block(x, {filters}, stride={stride}) on (None, 8, 8, {channels}) should give "
            "(None, {side}, {side}, {filters}), not {shape}",
            filters=filters,
            stride=stride,
            channels=CHANNELS,
            side=side,
            shape=shape,
        )


@pytest.mark.points(1)
def test_residual_block_parameter_counts(blocks):
    for filters, stride in CASES:
        count = block(blocks, filters, stride).description["count_params"]
        expected = expected_parameters(filters, stride)
        assert count == expected, (
            _(
                "residual_block(x, {filters}, stride={stride}) on {channels} channels holds {count} "
                "parameters; two bias-free 3x3 convolutions with their batch normalisations and a 1x1 "
                "projection with its own hold {expected}",
                filters=filters,
                stride=stride,
                channels=CHANNELS,
                count=count,
                expected=expected,
            )
            if CASES[filters, stride] == "projection"
            else _(
                "residual_block(x, {filters}, stride={stride}) on {channels} channels holds {count} "
                "parameters; two bias-free 3x3 convolutions with their batch normalisations hold {expected}",
                filters=filters,
                stride=stride,
                channels=CHANNELS,
                count=count,
                expected=expected,
            )
        )


def weights_per_layer(layer: dict) -> int:
    config = layer["config"]
    if layer["class_name"] == "Conv2D":
        return 1 + bool(config.get("use_bias", True))
    if layer["class_name"] == "BatchNormalization":
        return bool(config.get("scale", True)) + bool(config.get("center", True)) + 2
    return 0


def roles(model):
    """The block's weight-bearing layers by role, read from its graph: conv1, bn1, conv2, bn2, and
    for a projection proj and proj_bn; also the Add layer and the input's name."""
    layers = model.description["layers"]
    source = model.layers_of("InputLayer")[0]["name"]
    convs = model.layers_of("Conv2D")
    found = {
        "input": source,
        "conv1": next(
            (c for c in convs if c["config"]["kernel_size"] == [3, 3] and c["inbound"] == [source]), None
        ),
        "proj": next((c for c in convs if c["config"]["kernel_size"] == [1, 1]), None),
    }
    found["conv2"] = next(
        (c for c in convs if c["config"]["kernel_size"] == [3, 3] and c is not found["conv1"]), None
    )

    def normalisation_of(conv):
        if conv is None:
            return None
        return next(
            (n for n in layers if n["class_name"] == "BatchNormalization" and n["inbound"] == [conv["name"]]),
            None,
        )

    found["bn1"], found["bn2"] = normalisation_of(found["conv1"]), normalisation_of(found["conv2"])
    found["proj_bn"] = normalisation_of(found["proj"])
    adds = model.layers_of("Add")
    found["add"] = adds[0] if len(adds) == 1 else None
    return found


def judge_weights(model) -> dict:
    """Give the model the judge's weights; by layer name, the arrays the NumPy block needs
    (a convolution's kernel and bias, a batch normalisation's gamma, beta, mean and variance)."""
    current = model.get_weights()
    arrays, by_layer = [], {}
    for layer in model.description["layers"]:
        count = weights_per_layer(layer)
        if not count:
            continue
        config, channels = layer["config"], layer["output_shape"][-1]
        if layer["class_name"] == "BatchNormalization":
            gamma = RNG.uniform(0.5, 1.5, channels) if config.get("scale", True) else np.ones(channels)
            beta = RNG.normal(0, 0.3, channels) if config.get("center", True) else np.zeros(channels)
            mean, var = RNG.normal(0, 0.3, channels), RNG.uniform(0.5, 1.5, channels)
            by_layer[layer["name"]] = [gamma, beta, mean, var]
            arrays += [
                *([gamma] if config.get("scale", True) else []),
                *([beta] if config.get("center", True) else []),
                mean,
                var,
            ]
        else:
            if len(arrays) >= len(current):
                break
            kernel = RNG.normal(0, 0.3, np.shape(current[len(arrays)]))
            bias = RNG.normal(0, 0.3, channels) if count == 2 else np.zeros(channels)
            by_layer[layer["name"]] = [kernel, bias]
            arrays += [kernel, bias][:count]
    assert len(arrays) == len(current) and all(np.shape(a) == np.shape(c) for a, c in zip(arrays, current)), (
        _(
            "the block should be made of Conv2D and BatchNormalization "
            "layers (and layers without weights) only"
        )
    )
    model.set_weights([np.asarray(a, dtype=np.float32) for a in arrays])
    return by_layer


def batch_norm(x, weights, epsilon):
    gamma, beta, mean, var = weights
    return gamma * (x - mean) / np.sqrt(var + epsilon) + beta


def reference_block(x, found, weights, stride):
    """The specified post-activation block, with the weights of the roles read from the graph."""

    def conv_bn(name, inputs, step, padding):
        conv, norm = found[name], found[{"conv1": "bn1", "conv2": "bn2", "proj": "proj_bn"}[name]]
        y = lib.conv2d(inputs, *weights[conv["name"]], step, padding)
        return batch_norm(y, weights[norm["name"]], norm["config"].get("epsilon", 1e-3))

    y = np.maximum(conv_bn("conv1", x, stride, "same"), 0)
    y = conv_bn("conv2", y, 1, "same")
    shortcut = conv_bn("proj", x, stride, "valid") if found["proj"] is not None else x
    return np.maximum(y + shortcut, 0)


def assert_roles(found, kind, filters, stride):
    what = f"residual_block(x, {filters}, stride={stride})"
    for role in ("conv1", "bn1", "conv2", "bn2"):
        assert found[role] is not None, _(
            "{what}: the main path should be conv3x3 -> BatchNormalization -> ReLU -> conv3x3 -> "
            "BatchNormalization, the first convolution taking the block's input",
            what=what,
        )
    assert found["add"] is not None, _(
        "{what} should add its shortcut once (layers.Add, layers.add, + or keras.ops.add)", what=what
    )
    if kind == "identity":
        assert found["proj"] is None and found["input"] in found["add"]["inbound"], _(
            "{what} on {channels} channels keeps the shape: "
            "its shortcut should be the input itself (identity)",
            what=what,
            channels=CHANNELS,
        )
    else:
        projection = found["proj"]
        assert projection is not None and projection["inbound"] == [found["input"]], _(
            "{what} on {channels} channels changes the shape: its shortcut should be a 1x1 convolution "
            "of the input (a projection)",
            what=what,
            channels=CHANNELS,
        )
        assert projection["config"]["strides"] == [stride, stride], _(
            "{what}: the projection should have stride {stride}", what=what, stride=stride
        )
        assert found["proj_bn"] is not None and found["proj_bn"]["name"] in found["add"]["inbound"], _(
            "{what}: the projection should be followed by a BatchNormalization, which the Add takes",
            what=what,
        )


@pytest.mark.points(1)
def test_residual_block_chooses_identity_or_projection(blocks):
    for (filters, stride), kind in CASES.items():
        model = block(blocks, filters, stride)
        assert_roles(roles(model), kind, filters, stride)


def assert_computes_the_block(student, blocks, filters, stride):
    block(blocks, filters, stride)  # it could be built
    model = student.block_model("residual_block", [(8, 8, CHANNELS)], filters, stride)  # loaded afresh
    found = roles(model)
    assert_roles(found, CASES[filters, stride], filters, stride)
    weights = judge_weights(model)
    x = RNG.normal(size=(3, 8, 8, CHANNELS)).astype(np.float32)
    side = 8 // stride
    out = as_array(model.predict(x), _("the output of residual_block"), (3, side, side, filters))
    expected = reference_block(x.astype(np.float64), found, weights, stride)
    assert np.allclose(out, expected, **lib.FLOAT32_CHAIN), _(
        "with the same weights, residual_block(x, {filters}, stride={stride}) does not compute "
        "ReLU(BN(conv3x3(ReLU(BN(conv3x3(x))))) + shortcut(x)): check the order of its operations, "
        "what the addition takes, and what follows it",
        filters=filters,
        stride=stride,
    )


@pytest.mark.points(1)
def test_residual_block_computes_the_identity_block(student, blocks):
    assert_computes_the_block(student, blocks, 4, 1)


@pytest.mark.points(1)
def test_residual_block_computes_the_projection_block(student, blocks):
    assert_computes_the_block(student, blocks, 6, 2)
