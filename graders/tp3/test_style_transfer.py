"""Hidden checks of ``style_transfer`` (grade cell ``style_transfer_tests``, 3 points).

The extractor is the student's own, with random weights (``weights=None``), made in the worker. With
the content and style weights set to zero, the loss is the total variation alone, which the judge
computes itself: the first loss and the smoothing of the image are checked against it. With every
style layer given weight 0 (``style_layer_weights``) and no content nor total variation weighed, the
first loss must be 0, whatever the extractor's random weights.
"""

import numpy as np
import pytest

from tpdl import grading
from tpdl.grading import as_array, assert_accepts
from tpdl.wire import Call

lib = grading.grader_library(__file__)

pytestmark = pytest.mark.cell("style_transfer_tests")

RNG = np.random.default_rng(79)
SIZE = 32


def extractor():
    return Call("build_feature_extractor", ["block1_conv1", "block2_conv1"], "block2_conv2", weights=None)


def images():
    return (RNG.uniform(0, 255, size=(SIZE, SIZE, 3)).astype(np.float32),
            RNG.uniform(0, 255, size=(SIZE, SIZE, 3)).astype(np.float32))  # fmt: skip


def transfer(student, content, style, steps, **weights):
    answer = student.call("style_transfer", content, style, extractor(), steps=steps, **weights)
    assert isinstance(answer, (list, tuple)) and len(answer) == 2, (
        "style_transfer should return (image, losses)"
    )
    image = as_array(answer[0], "the image style_transfer returns")
    losses = np.asarray(answer[1], dtype=float).reshape(-1)
    assert image.shape == content.shape, (
        f"the image should have the content's shape {content.shape}, not {image.shape}"
    )
    assert losses.shape == (steps,), f"{steps} steps should give {steps} losses, not {losses.size}"
    assert np.all(np.isfinite(image)) and np.all(np.isfinite(losses)), (
        "the image and the losses should be finite"
    )
    return image, losses


@pytest.mark.points(1)
def test_style_transfer_optimises_the_image(student):
    content, style = images()
    image, losses = transfer(student, content, style, 4)
    assert np.abs(image - content).max() > 0.5, "the image should change: optimise its pixels"
    assert losses[-1] < losses[0], (
        f"4 steps should lower the total loss, not take it from {losses[0]:.4g} to {losses[-1]:.4g}"
    )
    # a negative tv_weight rewards contrast: black and white pixels are pushed out of [0, 255]
    checkerboard = np.indices((SIZE, SIZE)).sum(axis=0) % 2 * 255.0
    saturated = np.repeat(checkerboard[..., None], 3, axis=-1).astype(np.float32)
    image, _ = transfer(student, saturated, style, 2, content_weight=0.0, style_weight=0.0, tv_weight=-1.0)
    assert image.min() >= 0 and image.max() <= 255, "the pixels should be clipped to [0, 255] after each step"


@pytest.mark.points(1)
def test_style_transfer_minimises_the_weighted_total(student):
    content, style = images()
    image, losses = transfer(student, content, style, 3, content_weight=0.0, style_weight=0.0, tv_weight=1.0)
    start = lib.total_variation(content)
    assert np.isclose(losses[0], start, **lib.RECOMPUTED_LOSS), (
        "with content_weight=0 and style_weight=0, the first loss should be the content image's total "
        f"variation times tv_weight ({start:.6g}), not {losses[0]:.6g}: the loss is computed before each "
        "update, starting from the content image"
    )
    assert lib.total_variation(image) < start, (
        "with only the total variation weighed, the image should get smoother"
    )
    # every style layer weighed 0: the style term vanishes whatever the (random) extractor computes
    _, losses = transfer(student, content, style, 1, content_weight=0.0, style_weight=1.0, tv_weight=0.0,
                         style_layer_weights=[0.0, 0.0])  # fmt: skip
    assert np.isclose(losses[0], 0.0, **lib.RECOMPUTED_LOSS), (
        "with style_layer_weights [0, 0] no style layer counts: with content_weight=0 and tv_weight=0 as "
        f"well, the first loss should be 0, not {losses[0]:.6g}"
    )


@pytest.mark.points(1)
def test_style_transfer_rejects_bad_images(student):
    content, style = images()
    assert_accepts(student, "style_transfer", content, style, extractor(), steps=1)
    for what, bad_content, bad_style in (
        ("a grey content image (32, 32)", content[..., 0], style),
        ("an RGBA style image (32, 32, 4)", content, np.concatenate([style, style[..., :1]], axis=-1)),
        ("a 16x16 content image", content[:16, :16], style),
    ):
        lib.assert_refuses(
            student, "style_transfer", bad_content, bad_style, extractor(), steps=1, what=f"{what}"
        )
