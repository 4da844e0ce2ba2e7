"""Hidden checks of ``content_loss``, ``style_loss`` and ``total_variation_loss`` (grade cell
``style_losses_tests``, 4 points), against float64 NumPy references."""

import numpy as np
import pytest

from tpdl import grading
from tpdl.core import i18n
from tpdl.grading import as_array

_ = i18n.domain(__file__)

lib = grading.grader_library(__file__)

pytestmark = pytest.mark.cell("style_losses_tests")

RNG = np.random.default_rng(73)


def reference_style(style, generated, weights):
    return sum(w * np.mean((lib.gram(g) - lib.gram(s)) ** 2) for w, s, g in zip(weights, style, generated))


def reference_tv(images):
    x = images.astype(np.float64)
    return np.mean((x[:, 1:] - x[:, :-1]) ** 2) + np.mean((x[:, :, 1:] - x[:, :, :-1]) ** 2)


def feature_pairs():
    shapes = [(2, 8, 8, 3), (2, 4, 4, 5), (2, 2, 2, 6)]
    style = [RNG.normal(size=s).astype(np.float32) for s in shapes]
    generated = [RNG.normal(size=s).astype(np.float32) for s in shapes]
    return style, generated


def scalar(value, what):
    array = as_array(value, what)
    assert array.size == 1, _(
        "{what} should be a scalar, not an array of shape {shape}", what=what, shape=array.shape
    )
    return float(array.reshape(()))


@pytest.mark.points(1)
def test_content_loss_is_the_mean_squared_difference(student):
    content, generated = RNG.normal(size=(2, 3, 5, 4)), RNG.normal(size=(2, 3, 5, 4))
    value = scalar(
        student.call("content_loss", content.astype(np.float32), generated.astype(np.float32)), "content_loss"
    )
    expected = np.mean((generated - content) ** 2)
    assert np.isclose(value, expected, **lib.TENSORS), _(
        "content_loss should be the mean over all elements of the squared difference of the activations"
    )
    value, gradient = student.gradient(
        "content_loss", 1, content.astype(np.float32), generated.astype(np.float32)
    )
    assert gradient is not None, _("no gradient flows through content_loss: compute it with keras.ops")
    lib.assert_refuses(
        student,
        "content_loss",
        np.zeros((1, 4, 4, 2)),
        np.zeros((1, 2, 2, 2)),
        what=_("activations of different shapes"),
    )


@pytest.mark.points(1)
def test_style_loss_weighs_the_layers(student):
    style, generated = feature_pairs()
    for weights in ([0.2, 0.5, 0.3], [2.0, 0.0, 1.5]):  # the weights need not sum to one
        value = scalar(student.call("style_loss", style, generated, weights), "style_loss")
        expected = reference_style(style, generated, weights)
        assert np.isclose(value, expected, **lib.TENSORS), _(
            "style_loss with layer_weights {weights} does not give the weighted sum over layers of the "
            "mean squared difference of the Gram matrices",
            weights=weights,
        )


@pytest.mark.points(1)
def test_style_loss_default_weights_and_bad_input(student):
    style, generated = feature_pairs()
    value = scalar(student.call("style_loss", style, generated), "style_loss")
    expected = reference_style(style, generated, [1 / 3] * 3)
    assert np.isclose(value, expected, **lib.TENSORS), _(
        "style_loss without layer_weights should weigh the 3 layers equally (1/3 each)"
    )
    lib.assert_refuses(
        student, "style_loss", style, generated[:2], what=_("3 style activations but 2 generated ones")
    )
    lib.assert_refuses(
        student, "style_loss", style, generated, [0.5, 0.5], what=_("2 layer weights for 3 layers")
    )


@pytest.mark.points(1)
def test_total_variation_loss(student):
    images = RNG.uniform(0, 255, size=(2, 5, 7, 3)).astype(np.float32)
    value, gradient = student.gradient("total_variation_loss", 0, images)
    assert np.isclose(scalar(value, "total_variation_loss"), reference_tv(images), **lib.TENSORS), _(
        "total_variation_loss should be the mean squared difference of vertical neighbours plus that "
        "of horizontal neighbours"
    )
    assert gradient is not None, _(
        "no gradient flows through total_variation_loss: compute it with keras.ops"
    )
    lib.assert_refuses(
        student, "total_variation_loss", images[0], what=_("an image of rank 3 (no batch axis)")
    )
