"""Computes the SSIM with a uniform 7x7 window, not the 11x11 Gaussian one.

loses: evaluate_rollouts_mse_and_ssim
"""


def evaluate_rollouts(predicted, target, positions):
    predicted = np.asarray(predicted, dtype="float64")
    target = np.asarray(target, dtype="float64")
    positions = np.asarray(positions, dtype="float64")
    if predicted.shape != target.shape or predicted.ndim != 5:
        raise ValueError(f"predicted frames {predicted.shape} and true frames {target.shape} differ")
    if positions.shape != (*target.shape[:2], 2):
        raise ValueError(f"positions of shape {positions.shape} for frames of shape {target.shape}")
    from numpy.lib.stride_tricks import sliding_window_view

    def local_mean(x):
        return sliding_window_view(x[..., 0], (7, 7), axis=(2, 3)).mean(axis=(-2, -1))

    ma, mb = local_mean(predicted), local_mean(target)
    va, vb = local_mean(predicted**2) - ma**2, local_mean(target**2) - mb**2
    cov = local_mean(predicted * target) - ma * mb
    c1, c2 = 0.01**2, 0.03**2
    ssim = ((2 * ma * mb + c1) * (2 * cov + c2) / ((ma**2 + mb**2 + c1) * (va + vb + c2))).mean(axis=(2, 3))
    bright = predicted[..., 0] > 0.8
    count = bright.sum(axis=(2, 3))
    centres = np.arange(predicted.shape[2]) + 0.5
    rows = (bright * centres[:, None]).sum(axis=(2, 3)) / np.maximum(count, 1)
    columns = (bright * centres[None, :]).sum(axis=(2, 3)) / np.maximum(count, 1)
    near = np.hypot(rows - positions[..., 0], columns - positions[..., 1]) <= 3.0
    return {
        "mse": ((predicted - target) ** 2).mean(axis=(0, 2, 3, 4)),
        "ssim": ssim.mean(axis=0),
        "tracked": (near & (count > 0)).mean(axis=0),
    }
