"""Synthetic videos for TP5's research project (H-TAP): periodic motion, occlusion, long horizons.

``moving_shapes(n, frames=40, size=32, seed=0)`` returns ``(videos, positions)``: videos of shape
``(n, frames, size, size, 1)`` (float32 in [0, 1]) and the tracked object's centre in every frame,
``(n, frames, 2)`` (row, column, in pixels; float32), for measuring a roll-out's coherence.

Each video shows, on a dim background with a little noise:

* the **tracked object**, a bright disc running round an ellipse with a period of 10 to 16
  frames (so a context of a few frames cannot tell where it will be a period later);
* a **bouncing square**, gliding back and forth along a row, once per turn of the disc;
* a static **occluder**, a grey bar drawn over both: the square vanishes behind it, the disc
  shrinks to its edges, and both come back.

Deterministic per seed, vectorised over the batch (about 400 videos of 40 frames a second on 2 cores).
"""

import numpy as np

MIN_PERIOD, MAX_PERIOD = 10, 16


def _check(n, frames: int, size: int) -> None:
    if not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be a non-negative integer, not {n!r}")
    if not isinstance(frames, (int, np.integer)) or frames < 1:
        raise ValueError(f"frames must be a positive integer, not {frames!r}")
    if not isinstance(size, (int, np.integer)) or size < 16:
        raise ValueError(f"size must be an integer of at least 16, not {size!r}")


def moving_shapes(n: int, frames: int = 40, size: int = 32, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` videos of ``frames`` frames and the tracked object's centre in each (see the module)."""
    _check(n, frames, size)
    rng = np.random.default_rng(seed)
    scale = size / 32.0

    def draw(low, high):
        return rng.uniform(low, high, size=(n, 1))

    t = np.arange(frames)[None, :]  # (1, T)
    # The tracked disc: an ellipse round the centre, 10 to 16 frames a turn, either way round.
    period = rng.integers(MIN_PERIOD, MAX_PERIOD + 1, size=(n, 1))
    direction = rng.choice([-1.0, 1.0], size=(n, 1))
    phase = 2 * np.pi * t / period * direction + draw(0, 2 * np.pi)
    centre_row, centre_col = draw(13, 19) * scale, draw(13, 19) * scale
    disc_row = centre_row + draw(5, 9) * scale * np.sin(phase)
    disc_col = centre_col + draw(5, 9) * scale * np.cos(phase)
    # The bouncing square: a triangle wave along one row, in step with the disc's turns.
    wave = np.abs(((t / period + draw(0, 1)) % 1.0) * 2 - 1)  # 0 -> 1 -> 0 once a period
    square_row = draw(3, 28) * scale
    square_col = (3 + wave * 24) * scale
    # The occluder: a vertical bar, 4 pixels wide.
    bar_col = draw(6, 26) * scale

    axis = np.arange(size) + 0.5
    rows, cols = axis[None, None, :, None], axis[None, None, None, :]  # (1, 1, H, 1), (1, 1, 1, W)
    disc = (rows - disc_row[..., None, None]) ** 2 + (cols - disc_col[..., None, None]) ** 2 <= (
        2.6 * scale
    ) ** 2
    square = (np.abs(rows - square_row[..., None, None]) <= 2 * scale) & (
        np.abs(cols - square_col[..., None, None]) <= 2 * scale
    )
    bar = np.abs(cols - bar_col[..., None, None]) <= 2 * scale
    videos = np.full((n, frames, size, size), 0.08)
    videos = np.where(square, 0.65, videos)
    videos = np.where(disc, 1.0, videos)
    videos = np.where(bar, 0.35, videos)
    videos = videos + rng.normal(0.0, 0.02, size=videos.shape)
    positions = np.stack([disc_row, disc_col], axis=-1)
    return np.clip(videos, 0.0, 1.0).astype(np.float32)[..., None], positions.astype(np.float32)


# --------------------------------------------------------------------------- probe models
# Small models whose every weight a grader knows (seeded NumPy draws), so that it can compute in
# NumPy what a student's roll-out of them must give. The judge asks the worker for them by name
# (``tpdl.judge.wire.Probe``); the weights below are the same on both sides.


def probe_weights(seed: int, latent_dim: int = 4, window: int = 3, size: int = 32) -> dict[str, np.ndarray]:
    """The probe models' weights, float32: a tanh encoder from a flattened frame to ``latent_dim``
    values, a tanh step from the ``window`` latents (flattened, oldest first) to the next, and a
    sigmoid decoder back to a ``size`` x ``size`` frame."""
    rng = np.random.default_rng(seed)
    pixels = size * size

    def draw(*shape, scale=1.0):
        return (rng.normal(0.0, scale, size=shape)).astype(np.float32)

    return {
        "encoder_kernel": draw(pixels, latent_dim, scale=1.0 / np.sqrt(pixels) * 3),
        "encoder_bias": draw(latent_dim, scale=0.1),
        "step_kernel": draw(window * latent_dim, latent_dim, scale=1.0 / np.sqrt(window * latent_dim) * 2),
        "step_bias": draw(latent_dim, scale=0.1),
        "decoder_kernel": draw(latent_dim, pixels, scale=1.0),
        "decoder_bias": draw(pixels, scale=0.1),
    }


def probe_model(part: str, seed: int = 0, latent_dim: int = 4, window: int = 3, size: int = 32):
    """The Keras probe model ``part`` ("encoder", "step" or "decoder") with :func:`probe_weights`."""
    import keras
    from keras import layers

    weights = probe_weights(seed, latent_dim, window, size)
    if part == "encoder":
        model = keras.Sequential(
            [keras.Input((size, size, 1)), layers.Flatten(), layers.Dense(latent_dim, activation="tanh")],
            name="probe_encoder",
        )
    elif part == "step":
        model = keras.Sequential(
            [
                keras.Input((window, latent_dim)),
                layers.Flatten(),
                layers.Dense(latent_dim, activation="tanh"),
            ],
            name="probe_step",
        )
    elif part == "decoder":
        model = keras.Sequential(
            [
                keras.Input((latent_dim,)),
                layers.Dense(size * size, activation="sigmoid"),
                layers.Reshape((size, size, 1)),
            ],
            name="probe_decoder",
        )
    else:
        raise ValueError(f"no probe model {part!r}: encoder, step or decoder")
    model.set_weights([weights[f"{part}_kernel"], weights[f"{part}_bias"]])
    return model
