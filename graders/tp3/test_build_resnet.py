"""Hidden checks of ``build_resnet`` (grade cell ``build_resnet_tests``, 4 points)."""

import numpy as np
import pytest

from tpdl import grading
from tpdl.core import i18n

_ = i18n.domain(__file__)

lib = grading.grader_library(__file__)

pytestmark = pytest.mark.cell("build_resnet_tests")

RNG = np.random.default_rng(59)


@pytest.fixture(scope="module")
def resnet20(student):
    return student.build_model("build_resnet")


def resnet_parameters(channels, n_classes, blocks_per_stage, base_filters):
    """count_params() of the specified CIFAR ResNet (batch normalisations' statistics included)."""
    total = 9 * channels * base_filters + 4 * base_filters  # the stem
    inputs = base_filters
    for stage in range(3):
        filters = base_filters * 2**stage
        for block in range(blocks_per_stage):
            total += 9 * inputs * filters + 9 * filters * filters + 8 * filters
            if inputs != filters or (stage > 0 and block == 0):
                total += inputs * filters + 4 * filters  # the projection and its normalisation
            inputs = filters
    return total + inputs * n_classes + n_classes


@pytest.mark.points(1)
def test_build_resnet_outputs_class_probabilities(student, resnet20):
    shape = tuple(resnet20.description["output_shape"])
    assert shape == (None, 10), _("build_resnet() should output (None, 10), not {shape}", shape=shape)
    x = RNG.integers(0, 256, size=(3, 32, 32, 3)).astype(np.float32)
    out = np.asarray(resnet20.predict(x))
    assert np.all(np.isfinite(out)) and np.allclose(out.sum(axis=1), 1.0, **lib.PROBABILITIES), _(
        "on raw pixel values each output row should be a probability distribution: end with a softmax"
    )
    small = student.build_model("build_resnet", (16, 16, 1), 4, 1, 8)
    out = np.asarray(small.predict(RNG.integers(0, 256, size=(2, 16, 16, 1)).astype(np.float32)))
    assert out.shape == (2, 4), _(
        "build_resnet((16, 16, 1), 4, 1, 8) should map (N, 16, 16, 1) to (N, 4), not {shape}", shape=out.shape
    )
    for bad_shape, why in (
        ((32, 32), ""),
        ((30, 32, 3), _(" (30 is not a multiple of 4)")),
        ((32, 18, 3), _(" (18 is not a multiple of 4)")),
    ):
        lib.assert_refuses(student, "build_resnet", bad_shape, what=f"build_resnet({bad_shape})", why=why)


@pytest.mark.points(1)
def test_build_resnet_parameter_count(student, resnet20):
    count = resnet20.description["count_params"]
    assert count == 274_042, _("ResNet-20 holds 274,042 parameters, yours {count:,}", count=count)
    narrow = student.build_model("build_resnet", (32, 32, 3), 10, 1, 8)
    expected = resnet_parameters(3, 10, 1, 8)
    assert narrow.description["count_params"] == expected, _(
        "build_resnet(blocks_per_stage=1, base_filters=8) should hold {expected:,} parameters, not {count:,}",
        expected=expected,
        count=narrow.description["count_params"],
    )


def followed_by_relu(model, layer: dict) -> bool:
    return any(
        other["inbound"] == [layer["name"]]
        and (other["class_name"] in ("ReLU", "Relu") or other["config"].get("activation") == "relu")
        for other in model.description["layers"]
    )


@pytest.mark.points(1)
def test_build_resnet_has_nine_residual_additions(resnet20):
    additions = resnet20.layers_of("Add")
    assert len(additions) == 9, _(
        "ResNet-20 has 3 stages of 3 residual blocks: 9 additions, not {count}", count=len(additions)
    )
    assert all(followed_by_relu(resnet20, add) for add in additions), _(
        "every addition should go through a ReLU"
    )


@pytest.mark.points(1)
def test_build_resnet_downsamples_where_stages_begin(resnet20):
    shapes = [tuple(add["output_shape"][1:]) for add in resnet20.layers_of("Add")]
    expected = [(32, 32, 16)] * 3 + [(16, 16, 32)] * 3 + [(8, 8, 64)] * 3
    assert shapes == expected, _(
        "the blocks' outputs should be 32x32x16 (stage 1), 16x16x32 (stage 2) and 8x8x64 (stage 3), "
        "three each, not {shapes}",
        shapes=shapes,
    )
    strided = [c for c in resnet20.layers_of("Conv2D") if c["config"]["strides"] != [1, 1]]
    assert len(strided) == 4, _(
        "only the first block of stages 2 and 3 halves the resolution (its first convolution and its "
        "projection): 4 strided convolutions, not {count}",
        count=len(strided),
    )
    assert resnet20.layers_of("GlobalAveragePooling2D"), _("pool the last maps with GlobalAveragePooling2D")
