"""The SSIM in NumPy with scipy's Gaussian filter (its border cut off), the disc found with np.nonzero."""


def evaluate_rollouts(predicted, target, positions):
    from scipy.ndimage import gaussian_filter

    a, b = np.asarray(predicted, dtype="float64"), np.asarray(target, dtype="float64")
    positions = np.asarray(positions, dtype="float64")
    if a.shape != b.shape or a.ndim != 5:
        raise ValueError(f"shapes differ: {a.shape} and {b.shape}")
    if positions.shape != a.shape[:2] + (2,):
        raise ValueError(f"positions {positions.shape} do not match frames {a.shape}")
    n, horizon = a.shape[:2]

    def blur(x):  # an 11x11 window of sigma 1.5 (truncated at 5 pixels), valid part only
        return gaussian_filter(x, sigma=(0, 0, 1.5, 1.5), truncate=5 / 1.5)[:, :, 5:-5, 5:-5]

    x, y = a[..., 0], b[..., 0]
    mx, my = blur(x), blur(y)
    sxx, syy, sxy = blur(x * x) - mx**2, blur(y * y) - my**2, blur(x * y) - mx * my
    c1, c2 = 1e-4, 9e-4
    ssim = (2 * mx * my + c1) * (2 * sxy + c2) / ((mx**2 + my**2 + c1) * (sxx + syy + c2))
    tracked = np.zeros((n, horizon))
    for i in range(n):
        for h in range(horizon):
            rows, columns = np.nonzero(x[i, h] > 0.8)
            if len(rows):
                dr, dc = rows.mean() + 0.5 - positions[i, h, 0], columns.mean() + 0.5 - positions[i, h, 1]
                tracked[i, h] = (dr**2 + dc**2) ** 0.5 <= 3
    return {
        "mse": ((x - y) ** 2).mean(axis=(0, 2, 3)),
        "ssim": ssim.mean(axis=(0, 2, 3)),
        "tracked": tracked.mean(axis=0),
    }
