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
from tpdl.core import i18n
from tpdl.grading import as_array, assert_accepts
from tpdl.judge.wire import Call

_ = i18n.domain(__file__)

lib = grading.grader_library(__file__)

pytestmark = pytest.mark.cell("style_transfer_tests")

RNG = np.random.default_rng(79)
SIZE = 32


def extractor():
    return Call("build_feature_extractor", ["block1_conv1", "block2_conv1"], "block2_conv2", weights=None)


def images():
    return (
        RNG.uniform(0, 255, size=(SIZE, SIZE, 3)).astype(np.float32),
        RNG.uniform(0, 255, size=(SIZE, SIZE, 3)).astype(np.float32),
    )


def transfer(student, content, style, steps, **weights):
    answer = student.call("style_transfer", content, style, extractor(), steps=steps, **weights)
    assert isinstance(answer, (list, tuple)) and len(answer) == 2, _(
        "style_transfer should return (image, losses)"
    )
    image = as_array(answer[0], _("the image style_transfer returns"))
    losses = np.asarray(answer[1], dtype=float).reshape(-1)
    assert image.shape == content.shape, _(
        "the image should have the content's shape {expected}, not {shape}",
        expected=content.shape,
        shape=image.shape,
    )
    assert losses.shape == (steps,), _(
        "{steps} steps should give {steps} losses, not {count}", steps=steps, count=losses.size
    )
    assert np.all(np.isfinite(image)) and np.all(np.isfinite(losses)), _(
        "the image and the losses should be finite"
    )
    return image, losses


@pytest.mark.points(1)
def test_style_transfer_optimises_the_image(student):
    content, style = images()
    image, losses = transfer(student, content, style, 4)
    assert np.abs(image - content).max() > 0.5, _("the image should change: optimise its pixels")
    assert losses[-1] < losses[0], _(
        "4 steps should lower the total loss, not take it from {first:.4g} to {last:.4g}",
        first=losses[0],
        last=losses[-1],
    )
    # a negative tv_weight rewards contrast: black and white pixels are pushed out of [0, 255]
    checkerboard = np.indices((SIZE, SIZE)).sum(axis=0) % 2 * 255.0
    saturated = np.repeat(checkerboard[..., None], 3, axis=-1).astype(np.float32)
    image, _unused = transfer(
        student, saturated, style, 2, content_weight=0.0, style_weight=0.0, tv_weight=-1.0
    )
    assert image.min() >= 0 and image.max() <= 255, _(
        "the pixels should be clipped to [0, 255] after each step"
    )


@pytest.mark.points(1)
def test_style_transfer_minimises_the_weighted_total(student):
    content, style = images()
    image, losses = transfer(student, content, style, 3, content_weight=0.0, style_weight=0.0, tv_weight=1.0)
    start = lib.total_variation(content)
    assert np.isclose(losses[0], start, **lib.RECOMPUTED_LOSS), _(
        "with content_weight=0 and style_weight=0, the first loss should be the content image's total "
        "variation times tv_weight ({start:.6g}), not {first:.6g}: the loss is computed before each "
        "update, starting from the content image",
        start=start,
        first=losses[0],
    )
    assert lib.total_variation(image) < start, _(
        "with only the total variation weighed, the image should get smoother"
    )
    # every style layer weighed 0: the style term vanishes whatever the (random) extractor computes
    _unused, losses = transfer(
        student,
        content,
        style,
        1,
        content_weight=0.0,
        style_weight=1.0,
        tv_weight=0.0,
        style_layer_weights=[0.0, 0.0],
    )
    assert np.isclose(losses[0], 0.0, **lib.RECOMPUTED_LOSS), _(
        "with style_layer_weights [0, 0] no style layer counts: with content_weight=0 and tv_weight=0 as "
        "well, the first loss should be 0, not {first:.6g}",
        first=losses[0],
    )


@pytest.mark.points(1)
def test_style_transfer_rejects_bad_images(student):
    content, style = images()
    assert_accepts(student, "style_transfer", content, style, extractor(), steps=1)
    for what, bad_content, bad_style in (
        (_("a grey content image (32, 32)"), content[..., 0], style),
        (_("an RGBA style image (32, 32, 4)"), content, np.concatenate([style, style[..., :1]], axis=-1)),
        (_("a 16x16 content image"), content[:16, :16], style),
    ):
        lib.assert_refuses(student, "style_transfer", bad_content, bad_style, extractor(), steps=1, what=what)
