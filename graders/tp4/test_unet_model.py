"""Hidden checks of the handed-in U-Net ``unet.keras`` (grade cell ``unet_model_tests``, 4 points).

The model is loaded with ``safe_mode=True`` in a worker that runs no student code and segments
phantoms generated from a seed drawn now: no student has seen them. Its mean Dice is decided with a
stated error rate (``tpdl.grading.means.BoundedMean``: each phantom's Dice lies in [0, 1]).
"""

import secrets

import numpy as np
import pytest

from tpdl.core import i18n, manifest
from tpdl.course.phantoms import phantoms
from tpdl.grading.means import BoundedMean

_ = i18n.domain(__file__)

MANIFEST = manifest.beside(__file__)

pytestmark = pytest.mark.cell("unet_model_tests")

MODEL = "unet.keras"
REQUIRED_DICE = MANIFEST.thresholds["unet_dice"]
COUNT = MANIFEST.samples["unet_phantoms"]

# The reference's unet.keras: a mean Dice of 0.994 on 512 phantoms of seed 123456.
DICE = BoundedMean(
    name="U-Net mean Dice on fresh phantoms",
    threshold=REQUIRED_DICE,
    n=COUNT,
    sample=f"{COUNT} fresh phantoms",
    margin=MANIFEST.samples["unet_dice_margin"],
    reference=0.994,
)
STATED_CHECKS = [DICE]


@pytest.fixture(scope="module")
def saved(student):
    return student.saved_model(MODEL)


def hard_dice(masks, predictions) -> np.ndarray:
    """The Dice (smooth 1, in [0, 1]) of each sample's predictions thresholded at 0.5."""
    t = masks.reshape(len(masks), -1).astype(np.float64)
    p = (predictions.reshape(len(predictions), -1) >= 0.5).astype(np.float64)
    return (2 * (t * p).sum(1) + 1) / (t.sum(1) + p.sum(1) + 1)


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
    scores = hard_dice(masks, predictions)
    dice = float(scores.mean())
    assert DICE.passes(scores), _(
        "on {count} fresh phantoms (seed {seed}) the thresholded predictions of {model} reach a mean Dice "
        "of {dice:.3f}: below {critical:.3f}, this shows that its Dice is under the {required} needed",
        count=COUNT,
        seed=seed,
        model=MODEL,
        dice=dice,
        critical=DICE.critical,
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
