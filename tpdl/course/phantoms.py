"""Synthetic medical-style data for TP4: MRI-like 2D phantoms with lesions, and 3D volumes.

Real medical datasets cannot be shipped with the kit (nor downloaded by every student), so TP4
trains on seeded generators instead. Each call is deterministic for its seed, and a grader that
draws a fresh seed gets images no student has seen::

    images, masks = phantoms(512, seed=0)          # (512, 128, 128, 1) float32, uint8
    volumes_, labels, masks = volumes(256, seed=0)   # (256, 32, 32, 32, 1), (256,), (256, 32, 32, 32, 1)

**2D phantoms** (a slice through a body): an elliptical body of soft tissue, three organs of
varied intensity, one to three lesions (small, bright, rounded, with lobulated borders and a
dark rim: the segmentation target), a smooth multiplicative bias field (the coil's
inhomogeneity) and Gaussian noise. Organs can be as bright as a lesion, so a pixel's intensity
alone does not tell a lesion (no threshold segments them): its size, its rim and its
surroundings do.

**3D volumes** (a small block of tissue): each holds one bright lesion, either *spherical*
(label 0) or *tubular* (label 1, a vessel-like cylinder along a random direction), plus two
small spherical distractors. A tube cut across looks like a disc, exactly like a sphere: telling
them apart takes the third dimension.

Everything is NumPy, vectorised over the batch: thousands of phantoms take seconds.
"""

import numpy as np

PHANTOM_SIZE = 128
VOLUME_SIZE = 32
MAX_LESIONS = 3
CHUNK = 256  # samples generated at once (bounds the memory of the intermediate arrays)


def _check(n: int, size: int, smallest: int) -> None:
    if not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be a non-negative integer, not {n!r}")
    if not isinstance(size, (int, np.integer)) or size < smallest:
        raise ValueError(f"size must be an integer of at least {smallest}, not {size!r}")


def _uniform(rng: np.random.Generator, low: float, high: float, n: int) -> np.ndarray:
    """``n`` draws, shaped to broadcast against a batch of images (n, 1, 1)."""
    return rng.uniform(low, high, size=n)[:, None, None]


def _ellipse(u, v, cx, cy, a, b, angle):
    """Where the pixel centres ``(u, v)`` fall inside the rotated ellipse (a batch of booleans)."""
    du, dv = u - cx, v - cy
    cos, sin = np.cos(angle), np.sin(angle)
    along, across = du * cos + dv * sin, -du * sin + dv * cos
    return (along / a) ** 2 + (across / b) ** 2 <= 1.0


def _phantom_chunk(rng: np.random.Generator, n: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    axis = (np.arange(size) + 0.5) / size * 2.0 - 1.0  # pixel centres in [-1, 1]
    v, u = np.meshgrid(axis, axis, indexing="ij")  # v: rows (down), u: columns (right)
    u, v = u[None], v[None]

    # The body: soft tissue inside a rotated ellipse.
    cx, cy = _uniform(rng, -0.08, 0.08, n), _uniform(rng, -0.08, 0.08, n)
    a, b = _uniform(rng, 0.68, 0.88, n), _uniform(rng, 0.52, 0.74, n)
    angle = _uniform(rng, -np.pi / 6, np.pi / 6, n)
    body = _ellipse(u, v, cx, cy, a, b, angle)
    image = np.where(body, _uniform(rng, 0.32, 0.42, n), 0.0)

    # Organs: large ellipses inside the body, from dark to as bright as a lesion.
    for _ in range(3):
        radius, theta = np.sqrt(_uniform(rng, 0.0, 1.0, n)) * 0.5, _uniform(rng, 0, 2 * np.pi, n)
        ox, oy = cx + radius * a * np.cos(theta), cy + radius * b * np.sin(theta)
        organ = (
            _ellipse(
                u,
                v,
                ox,
                oy,
                _uniform(rng, 0.14, 0.3, n),
                _uniform(rng, 0.1, 0.2, n),
                _uniform(rng, 0, np.pi, n),
            )
            & body
        )
        image = np.where(organ, _uniform(rng, 0.08, 0.95, n), image)

    # Lesions: one to three small, rounded, lobulated bright regions well inside the body, each
    # ringed by a dark rim (oedema): the rim, not the brightness, sets them apart from organs.
    mask = np.zeros((n, size, size), dtype=bool)
    count = rng.integers(1, MAX_LESIONS + 1, size=n)
    for k in range(MAX_LESIONS):
        present = (count > k)[:, None, None]
        radius, theta = np.sqrt(_uniform(rng, 0.0, 1.0, n)) * 0.62, _uniform(rng, 0, 2 * np.pi, n)
        lx, ly = cx + radius * a * np.cos(theta), cy + radius * b * np.sin(theta)
        r0 = _uniform(rng, 0.05, 0.12, n)
        phi = np.arctan2(v - ly, u - lx)
        border = r0 * (
            1.0
            + _uniform(rng, 0.0, 0.18, n) * np.cos(2 * phi + _uniform(rng, 0, 6.3, n))
            + _uniform(rng, 0.0, 0.12, n) * np.cos(3 * phi + _uniform(rng, 0, 6.3, n))
        )
        distance = np.sqrt((u - lx) ** 2 + (v - ly) ** 2)
        rim = (distance <= border + _uniform(rng, 0.025, 0.045, n)) & body & present
        lesion = (distance <= border) & body & present
        image = np.where(rim & ~mask, _uniform(rng, 0.1, 0.2, n), image)
        image = np.where(lesion, _uniform(rng, 0.75, 0.95, n), image)
        mask |= lesion

    # A smooth bias field (0.8 to 1.2) and the scanner's noise.
    field = sum(_uniform(rng, -1.0, 1.0, n) * term for term in (u, v, u * v, u**2 - v**2))
    field = 1.0 + 0.2 * field / np.maximum(np.abs(field).max(axis=(1, 2), keepdims=True), 1e-6)
    image = image * field + rng.normal(size=image.shape) * _uniform(rng, 0.015, 0.045, n)
    return np.clip(image, 0.0, 1.0).astype(np.float32)[..., None], mask.astype(np.uint8)[..., None]


def phantoms(n: int, size: int = PHANTOM_SIZE, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` MRI-like slices with lesions: images float32 in [0, 1] and masks uint8 in {0, 1},
    both of shape ``(n, size, size, 1)``. The same ``seed`` gives the same phantoms."""
    _check(n, size, 16)
    rng = np.random.default_rng(seed)
    chunks = [_phantom_chunk(rng, min(CHUNK, n - start), size) for start in range(0, n, CHUNK)]
    if not chunks:
        return np.zeros((0, size, size, 1), np.float32), np.zeros((0, size, size, 1), np.uint8)
    return np.concatenate([c[0] for c in chunks]), np.concatenate([c[1] for c in chunks])


def _volume_chunk(rng: np.random.Generator, n: int, size: int):
    axis = (np.arange(size) + 0.5) / size * 2.0 - 1.0
    z, y, x = np.meshgrid(axis, axis, axis, indexing="ij")
    points = np.stack([z, y, x])[None]  # (1, 3, D, H, W)

    def column(low, high, width=1):
        return rng.uniform(low, high, size=(n, width))[..., None, None, None]

    labels = rng.integers(0, 2, size=n)
    tubular = labels.astype(bool)[:, None, None, None]
    centre = column(-0.3, 0.3, 3)  # (n, 3, 1, 1, 1)
    offset = points - centre
    # A sphere of radius 0.2 to 0.32...
    sphere = (offset**2).sum(axis=1) <= column(0.2, 0.32)[:, 0] ** 2
    # ...or a tube of radius 0.1 to 0.16 and length 1.0 to 1.4 along a random direction.
    direction = rng.normal(size=(n, 3))
    direction /= np.linalg.norm(direction, axis=1, keepdims=True)
    direction = direction[..., None, None, None]
    along = np.clip((offset * direction).sum(axis=1, keepdims=True), -column(0.5, 0.7), column(0.5, 0.7))
    tube = ((offset - along * direction) ** 2).sum(axis=1) <= column(0.1, 0.16)[:, 0] ** 2
    mask = np.where(tubular, tube, sphere)

    volume = np.full((n, size, size, size), 0.3) + 0.05 * sum(
        column(-1, 1)[:, 0] * points[:, i] for i in range(3)
    )
    for _ in range(2):  # distractors: small bright spheres, in both classes
        spot = ((points - column(-0.8, 0.8, 3)) ** 2).sum(axis=1) <= column(0.08, 0.14)[:, 0] ** 2
        volume = np.where(spot, column(0.6, 0.8)[:, 0], volume)
    volume = np.where(mask, column(0.75, 0.95)[:, 0], volume)
    volume = volume + rng.normal(size=volume.shape) * column(0.02, 0.06)[:, 0]
    return (
        np.clip(volume, 0.0, 1.0).astype(np.float32)[..., None],
        labels.astype(np.uint8),
        mask.astype(np.uint8)[..., None],
    )


def volumes(n: int, size: int = VOLUME_SIZE, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``n`` volumes of shape ``(size, size, size, 1)`` (float32 in [0, 1]), their labels (uint8:
    0 = spherical lesion, 1 = tubular lesion) and the lesion's voxel masks (uint8, like the volumes)."""
    _check(n, size, 8)
    rng = np.random.default_rng(seed)
    chunks = [_volume_chunk(rng, min(CHUNK // 4, n - start), size) for start in range(0, n, CHUNK // 4)]
    if not chunks:
        shape = (0, size, size, size, 1)
        return np.zeros(shape, np.float32), np.zeros((0,), np.uint8), np.zeros(shape, np.uint8)
    images, labels, masks = (np.concatenate([c[i] for c in chunks]) for i in range(3))
    return images, labels, masks


def show_overlays(images, masks, predictions=None, count: int = 4, threshold: float = 0.5):
    """A figure of ``count`` images with the true mask's outline (green) and, if given, the
    predicted mask's (red, ``predictions >= threshold``). Volumes show their middle slice."""
    import matplotlib.pyplot as plt

    images, masks = np.asarray(images), np.asarray(masks)
    if images.ndim == 5:  # volumes: for each, the slice (along the first axis) richest in lesion
        rows = np.arange(len(images))
        richest = masks.reshape(masks.shape[:2] + (-1,)).sum(axis=2).argmax(axis=1)
        images, masks = images[rows, richest], masks[rows, richest]
        predictions = None if predictions is None else np.asarray(predictions)[rows, richest]
    count = min(count, len(images))
    figure, axes = plt.subplots(1, count, figsize=(3 * count, 3.2), squeeze=False)
    for i, ax in enumerate(axes[0]):
        ax.imshow(images[i, ..., 0], cmap="gray", vmin=0, vmax=1)
        ax.contour(masks[i, ..., 0], levels=[0.5], colors="lime", linewidths=1)
        title = "true mask (green)"
        if predictions is not None:
            ax.contour(
                np.asarray(predictions)[i, ..., 0] >= threshold, levels=[0.5], colors="red", linewidths=1
            )
            title = "true (green), predicted (red)"
        ax.set_title(title, fontsize=9)
        ax.set_axis_off()
    figure.tight_layout()
    return figure
