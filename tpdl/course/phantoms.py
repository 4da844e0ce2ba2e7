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
CHUNK = 256  # samples whose draws are made at once (their order is the generator's)
BLOCK_PIXELS = 2**16  # pixels drawn at once: four 128 x 128 phantoms, whose arrays stay in cache


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


def _phantom_parameters(rng: np.random.Generator, n: int, size: int) -> dict:
    """Every random draw of ``n`` phantoms, in the order the generator has always made them (the same
    seed gives the same phantoms), each shaped to broadcast against a batch of images (n, 1, 1)."""
    drawn: dict = {}
    # The body: soft tissue inside a rotated ellipse.
    for name, low, high in (
        ("cx", -0.08, 0.08),
        ("cy", -0.08, 0.08),
        ("a", 0.68, 0.88),
        ("b", 0.52, 0.74),
        ("angle", -np.pi / 6, np.pi / 6),
        ("tissue", 0.32, 0.42),
    ):
        drawn[name] = _uniform(rng, low, high, n)
    # Organs: large ellipses inside the body, from dark to as bright as a lesion.
    organ_draws = (
        ("radius", 0.0, 1.0),
        ("theta", 0, 2 * np.pi),
        ("a", 0.14, 0.3),
        ("b", 0.1, 0.2),
        ("angle", 0, np.pi),
        ("intensity", 0.08, 0.95),
    )
    drawn["organs"] = [
        {name: _uniform(rng, low, high, n) for name, low, high in organ_draws} for _ in range(3)
    ]
    # Lesions: one to three small, rounded, lobulated bright regions well inside the body, each
    # ringed by a dark rim (oedema): the rim, not the brightness, sets them apart from organs.
    drawn["count"] = rng.integers(1, MAX_LESIONS + 1, size=n)
    lesion_draws = (
        ("radius", 0.0, 1.0),
        ("theta", 0, 2 * np.pi),
        ("r0", 0.05, 0.12),
        ("lobe2", 0.0, 0.18),
        ("phase2", 0, 6.3),
        ("lobe3", 0.0, 0.12),
        ("phase3", 0, 6.3),
        ("rim", 0.025, 0.045),
        ("rim_intensity", 0.1, 0.2),
        ("intensity", 0.75, 0.95),
    )
    drawn["lesions"] = [
        {name: _uniform(rng, low, high, n) for name, low, high in lesion_draws} for _ in range(MAX_LESIONS)
    ]
    # A smooth bias field (0.8 to 1.2) and the scanner's noise.
    drawn["field"] = [_uniform(rng, -1.0, 1.0, n) for _ in range(4)]
    drawn["noise"] = rng.normal(size=(n, size, size))
    drawn["noise_level"] = _uniform(rng, 0.015, 0.045, n)
    return drawn


def _rows(drawn, rows: slice):
    """The draws of the phantoms ``rows`` only."""
    if isinstance(drawn, dict):
        return {name: _rows(value, rows) for name, value in drawn.items()}
    if isinstance(drawn, list):
        return [_rows(value, rows) for value in drawn]
    return drawn[rows]


def _draw_phantoms(drawn: dict, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The images and masks of the phantoms ``drawn`` describes."""
    axis = (np.arange(size) + 0.5) / size * 2.0 - 1.0  # pixel centres in [-1, 1]
    v, u = np.meshgrid(axis, axis, indexing="ij")  # v: rows (down), u: columns (right)
    u, v = u[None], v[None]
    cx, cy, a, b = drawn["cx"], drawn["cy"], drawn["a"], drawn["b"]
    body = _ellipse(u, v, cx, cy, a, b, drawn["angle"])
    image = np.where(body, drawn["tissue"], 0.0)
    for organ in drawn["organs"]:
        radius, theta = np.sqrt(organ["radius"]) * 0.5, organ["theta"]
        ox, oy = cx + radius * a * np.cos(theta), cy + radius * b * np.sin(theta)
        inside = _ellipse(u, v, ox, oy, organ["a"], organ["b"], organ["angle"]) & body
        image = np.where(inside, organ["intensity"], image)
    mask = np.zeros(image.shape, dtype=bool)
    for k, lesion in enumerate(drawn["lesions"]):
        present = (drawn["count"] > k)[:, None, None]
        radius, theta = np.sqrt(lesion["radius"]) * 0.62, lesion["theta"]
        lx, ly = cx + radius * a * np.cos(theta), cy + radius * b * np.sin(theta)
        phi = np.arctan2(v - ly, u - lx)
        border = lesion["r0"] * (
            1.0
            + lesion["lobe2"] * np.cos(2 * phi + lesion["phase2"])
            + lesion["lobe3"] * np.cos(3 * phi + lesion["phase3"])
        )
        distance = np.sqrt((u - lx) ** 2 + (v - ly) ** 2)
        rim = (distance <= border + lesion["rim"]) & body & present
        inside = (distance <= border) & body & present
        image = np.where(rim & ~mask, lesion["rim_intensity"], image)
        image = np.where(inside, lesion["intensity"], image)
        mask |= inside
    terms = (u, v, u * v, u**2 - v**2)
    field = sum(weight * term for weight, term in zip(drawn["field"], terms, strict=True))
    field = 1.0 + 0.2 * field / np.maximum(np.abs(field).max(axis=(1, 2), keepdims=True), 1e-6)
    image = image * field + drawn["noise"] * drawn["noise_level"]
    return np.clip(image, 0.0, 1.0).astype(np.float32)[..., None], mask.astype(np.uint8)[..., None]


def _phantom_chunk(rng: np.random.Generator, n: int, size: int) -> tuple[np.ndarray, np.ndarray]:
    drawn = _phantom_parameters(rng, n, size)
    # Drawn a few at a time: the intermediate images of a few phantoms stay in the processor's cache.
    block = max(1, BLOCK_PIXELS // (size * size))
    parts = [_draw_phantoms(_rows(drawn, slice(i, i + block)), size) for i in range(0, n, block)]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])


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
