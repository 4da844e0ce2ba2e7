"""Do TP4's synthetic data behave as the course says: seeded, varied, labelled right, and fresh when
the seed is? (The hidden graders evaluate students' models on a seed drawn at grading time.)"""

import numpy as np
import pytest

from tpdl.course.phantoms import phantoms, show_overlays, volumes


def test_phantoms_are_deterministic_per_seed_and_differ_across_seeds():
    images, masks = phantoms(6, size=64, seed=3)
    again_images, again_masks = phantoms(6, size=64, seed=3)
    other_images, _ = phantoms(6, size=64, seed=4)
    assert images.shape == masks.shape == (6, 64, 64, 1)
    assert images.dtype == np.float32 and masks.dtype == np.uint8
    assert np.array_equal(images, again_images) and np.array_equal(masks, again_masks)
    assert not np.allclose(images, other_images)
    assert 0.0 <= images.min() and images.max() <= 1.0 and set(np.unique(masks)) == {0, 1}


def test_every_phantom_has_a_lesion_inside_its_body_and_no_threshold_segments_them():
    images, masks = phantoms(200, seed=11)
    lesion_pixels = masks.reshape(200, -1).sum(axis=1)
    assert lesion_pixels.min() > 0, "one or more lesions per phantom"
    assert images[masks == 1].min() > 0.2, "lesions lie inside the body"
    # Organs are as bright as lesions: the best single threshold is far from the 0.90 asked of a U-Net.
    t = masks.reshape(200, -1).astype(float)
    best = 0.0
    for threshold in np.linspace(0.3, 0.95, 27):
        p = (images.reshape(200, -1) >= threshold).astype(float)
        best = max(best, np.mean((2 * (t * p).sum(1) + 1) / (t.sum(1) + p.sum(1) + 1)))
    assert best < 0.8, best


def test_volumes_hold_spheres_and_tubes_of_comparable_size():
    volume, labels, masks = volumes(200, seed=5)
    assert volume.shape == masks.shape == (200, 32, 32, 32, 1) and labels.shape == (200,)
    assert 0.35 < labels.mean() < 0.65
    voxels = masks.reshape(200, -1).sum(axis=1)
    assert voxels.min() > 20
    # A tube is elongated: the spread of its voxels along their main axis dwarfs the other two.
    elongation = []
    for mask in masks[..., 0]:
        points = np.argwhere(mask).astype(float)
        spread = np.sort(np.linalg.eigvalsh(np.cov(points.T)))
        elongation.append(spread[-1] / spread[0])
    elongation = np.array(elongation)
    assert elongation[labels == 1].min() > elongation[labels == 0].max()
    # ...but the lesion's size alone does not give its class away.
    assert abs(np.median(voxels[labels == 1]) - np.median(voxels[labels == 0])) < 0.5 * np.median(voxels)


def test_a_memorised_mask_scores_on_its_own_phantom_only():
    """Why the graders draw a fresh seed: a memorised answer is perfect on what it memorised."""
    _, memorised = phantoms(1, seed=0)
    _, fresh = phantoms(50, seed=987_654)

    def dice(t, p):
        t, p = t.reshape(len(t), -1), p.reshape(len(p), -1)
        return np.mean((2 * (t * p).sum(1) + 1) / (t.sum(1) + p.sum(1) + 1))

    assert dice(memorised, memorised) == 1.0
    assert dice(fresh, np.repeat(memorised, 50, axis=0)) < 0.2


@pytest.mark.parametrize(("n", "size"), [(-1, 128), (2.5, 128), (2, 8), (2, "128")])
def test_bad_arguments_are_refused_with_a_reason(n, size):
    with pytest.raises(ValueError, match="must be"):
        phantoms(n, size=size)


def test_an_empty_request_gives_empty_arrays_and_overlays_draw_images_and_volumes():
    images, masks = phantoms(0)
    assert images.shape == (0, 128, 128, 1) and masks.shape == (0, 128, 128, 1)
    import matplotlib

    matplotlib.use("Agg")
    images, masks = phantoms(3, size=32, seed=1)
    figure = show_overlays(images, masks, predictions=masks.astype(float), count=3)
    assert len(figure.axes) == 3
    volume, _, volume_masks = volumes(2, size=16, seed=1)
    assert len(show_overlays(volume, volume_masks, count=5).axes) == 2
