"""Within 3 pixels read per axis (|dr| <= 3 and |dc| <= 3, a square), not as a Euclidean distance.

loses: evaluate_rollouts_tracks_the_disc
"""
def evaluate_rollouts(predicted, target, positions):
    """Per-horizon ``{"mse", "ssim", "tracked"}`` of predicted frames against the true ones."""
    import tensorflow as tf

    predicted = np.asarray(predicted, dtype="float32")
    target = np.asarray(target, dtype="float32")
    positions = np.asarray(positions, dtype="float64")
    if predicted.shape != target.shape or predicted.ndim != 5:
        raise ValueError(f"predicted {predicted.shape} and target {target.shape} must be the same (n, horizon, H, W, 1)")
    n, horizon, height, width = predicted.shape[:4]
    if positions.shape != (n, horizon, 2):
        raise ValueError(f"positions should have shape {(n, horizon, 2)}, not {positions.shape}")
    mse = np.mean((predicted - target) ** 2, axis=(0, 2, 3, 4))
    flat_p = predicted.reshape(-1, height, width, predicted.shape[-1])
    flat_t = target.reshape(-1, height, width, target.shape[-1])
    ssim = np.asarray(tf.image.ssim(flat_p, flat_t, max_val=1.0)).reshape(n, horizon).mean(axis=0)
    bright = predicted[..., 0] > 0.8
    count = bright.sum(axis=(2, 3))
    rows = np.arange(height) + 0.5
    cols = np.arange(width) + 0.5
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (bright * rows[:, None]).sum(axis=(2, 3)) / count
        c = (bright * cols[None, :]).sum(axis=(2, 3)) / count
    dr, dc = r - positions[..., 0], c - positions[..., 1]
    near = (np.abs(dr) <= 3) & (np.abs(dc) <= 3)
    tracked = np.mean((count > 0) & near, axis=0)
    return {"mse": mse, "ssim": ssim, "tracked": tracked}
