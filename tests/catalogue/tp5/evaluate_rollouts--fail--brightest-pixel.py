"""Finds the disc at the brightest pixel, even where nothing is brighter than 0.8.

loses: evaluate_rollouts_tracks_the_disc
"""


def evaluate_rollouts(predicted, target, positions):
    import tensorflow as tf

    predicted = np.asarray(predicted, dtype="float32")
    target = np.asarray(target, dtype="float32")
    positions = np.asarray(positions, dtype="float32")
    if predicted.shape != target.shape or predicted.ndim != 5:
        raise ValueError(f"predicted frames {predicted.shape} and true frames {target.shape} differ")
    if positions.shape != (*target.shape[:2], 2):
        raise ValueError(f"positions of shape {positions.shape} for frames of shape {target.shape}")
    size = predicted.shape[3]
    brightest = predicted[..., 0].reshape(*predicted.shape[:2], -1).argmax(axis=-1)
    rows, columns = brightest // size + 0.5, brightest % size + 0.5
    distance = np.hypot(rows - positions[..., 0], columns - positions[..., 1])
    return {
        "mse": np.mean((predicted - target) ** 2, axis=(0, 2, 3, 4)),
        "ssim": np.asarray(tf.image.ssim(predicted, target, max_val=1.0)).mean(axis=0),
        "tracked": (distance <= 3.0).mean(axis=0),
    }
