"""NumPy references of the video metrics that two TP5 graders share: per-frame SSIM with
TensorFlow's conventions, and whether the disc is tracked (see ``evaluate_rollouts``)."""

import numpy as np

BRIGHT, RADIUS = 0.8, 3.0


def gaussian_window(size: int = 11, sigma: float = 1.5) -> np.ndarray:
    offsets = np.arange(size) - (size - 1) / 2
    window = np.exp(-(offsets**2) / (2 * sigma**2))
    return window / window.sum()


def _blur(x: np.ndarray) -> np.ndarray:
    """The Gaussian-weighted local means over the last two axes, without padding ('valid')."""
    g = gaussian_window()
    n = len(g)
    rows = sum(g[i] * x[..., i : x.shape[-2] - n + 1 + i, :] for i in range(n))
    return sum(g[i] * rows[..., i : x.shape[-1] - n + 1 + i] for i in range(n))


def ssim(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The mean SSIM of each frame pair (frames ``(..., H, W, 1)`` in [0, 1])."""
    a, b = a[..., 0].astype(np.float64), b[..., 0].astype(np.float64)
    c1, c2 = 0.01**2, 0.03**2
    mean_a, mean_b = _blur(a), _blur(b)
    var_a, var_b = _blur(a * a) - mean_a**2, _blur(b * b) - mean_b**2
    cov = _blur(a * b) - mean_a * mean_b
    local = ((2 * mean_a * mean_b + c1) * (2 * cov + c2)) / (
        (mean_a**2 + mean_b**2 + c1) * (var_a + var_b + c2)
    )
    return local.mean(axis=(-2, -1))


def tracked(frames: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Per video and horizon: is the centre of the pixels brighter than 0.8 within 3 pixels of the disc?"""
    bright = frames[..., 0] > BRIGHT
    count = bright.sum(axis=(-2, -1))
    centres = np.arange(frames.shape[-3]) + 0.5
    safe = np.maximum(count, 1)
    rows = (bright * centres[:, None]).sum(axis=(-2, -1)) / safe
    columns = (bright * centres[None, :]).sum(axis=(-2, -1)) / safe
    near = np.hypot(rows - positions[..., 0], columns - positions[..., 1]) <= RADIUS
    return near & (count > 0)


def reference(predicted, target, positions) -> dict:
    """Per horizon, averaged over the videos: MSE, SSIM and (with ``positions``) the share tracked."""
    result = {
        "mse": ((predicted.astype(np.float64) - target) ** 2).mean(axis=(0, 2, 3, 4)),
        "ssim": ssim(predicted, target).mean(axis=0),
    }
    if positions is not None:
        result["tracked"] = tracked(predicted, positions).mean(axis=0)
    return result
