"""Hidden checks of the handed-in U-Net ``unet.keras`` (grade cell ``unet_model_tests``, 4 points).

The model is loaded with ``safe_mode=True`` in a worker that runs no student code and segments
phantoms generated from a seed drawn now: no student has seen them.
"""

import secrets

import numpy as np
import pytest

from tpdl import i18n, manifest
from tpdl.phantoms import phantoms

_ = i18n.domain(__file__)

MANIFEST = manifest.beside(__file__)

pytestmark = pytest.mark.cell("unet_model_tests")

MODEL = "unet.keras"
REQUIRED_DICE = MANIFEST.thresholds["unet_dice"]
COUNT = 64


@pytest.fixture(scope="module")
def saved(student):
    return student.saved_model(MODEL)


def hard_dice(masks, predictions):
    """The mean per-sample Dice (smooth 1) of the predictions thresholded at 0.5."""
    t = masks.reshape(len(masks), -1).astype(np.float64)
    p = (predictions.reshape(len(predictions), -1) >= 0.5).astype(np.float64)
    return float(np.mean((2 * (t * p).sum(1) + 1) / (t.sum(1) + p.sum(1) + 1)))


@pytest.mark.points(3)
def test_unet_segments_fresh_phantoms(student, saved):
    shape = saved.description["input_shape"]
    assert isinstance(shape, list) and len(shape) == 4 and shape[3] == 1 and shape[1] in (None, 128), _(
        "{model} should take phantoms of shape (None, 128, 128, 1), not {shape}", model=MODEL, shape=shape
    )
    seed = secrets.randbelow(2**31)
    images, masks = phantoms(COUNT, seed=seed)
    predictions = np.asarray(saved.predict(images, batch_size=16))
    assert predictions.shape == masks.shape, _(
        "{model} should output one probability per pixel, {expected}, not {got}",
        model=MODEL,
        expected=masks.shape[1:],
        got=predictions.shape[1:],
    )
    dice = hard_dice(masks, predictions)
    assert dice >= REQUIRED_DICE, _(
        "on {count} fresh phantoms (seed {seed}) the thresholded predictions of {model} reach a Dice of "
        "{dice:.3f}; {required} is needed",
        count=COUNT,
        seed=seed,
        model=MODEL,
        dice=dice,
        required=REQUIRED_DICE,
    )
    student.note = _(
        "Dice {dice:.3f} on {count} fresh phantoms (seed {seed})", dice=dice, count=COUNT, seed=seed
    )


@pytest.mark.points(1)
def test_unet_is_a_unet(saved):
    classes = set(saved.layer_classes)
    assert "Concatenate" in classes and "Conv2D" in classes, _(
        "{model} should be a U-Net: convolutions and skip connections (concatenations)", model=MODEL
    )
