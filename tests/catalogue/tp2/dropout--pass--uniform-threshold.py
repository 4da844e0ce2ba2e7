"""Keeps where a uniform draw falls below 1 - rate; scales first, masks second."""


def dropout(x, rate, training, rng):
    if not (0 <= rate < 1):
        raise ValueError(f"invalid dropout rate {rate!r}")
    if not training or rate == 0:
        return np.copy(x)
    scaled = np.asarray(x) * (1.0 / (1.0 - rate))
    scaled[rng.uniform(size=scaled.shape) >= 1.0 - rate] = 0.0
    return scaled
