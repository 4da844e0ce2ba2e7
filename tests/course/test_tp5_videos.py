"""Do TP5's synthetic videos behave as the H-TAP project needs: seeded, periodic with turns longer
than TAP's window, occluded, with the disc where ``positions`` says? And are the graders' video
references (roll-out of the probe models, SSIM) what Keras and TensorFlow compute?"""

import numpy as np
import pytest

from tpdl import grading
from tpdl.core import paths
from tpdl.course.videos import MAX_PERIOD, MIN_PERIOD, moving_shapes, probe_model, probe_weights

metrics = grading.grader_module(str(paths.graders("tp5") / "test_htap_models.py"), "video_metrics")


def test_videos_are_deterministic_per_seed_and_differ_across_seeds():
    videos, positions = moving_shapes(5, frames=12, seed=3)
    again, again_positions = moving_shapes(5, frames=12, seed=3)
    other, _ = moving_shapes(5, frames=12, seed=4)
    assert videos.shape == (5, 12, 32, 32, 1) and positions.shape == (5, 12, 2)
    assert videos.dtype == np.float32 and 0.0 <= videos.min() and videos.max() <= 1.0
    assert np.array_equal(videos, again) and np.array_equal(positions, again_positions)
    assert not np.allclose(videos, other)


def test_the_disc_is_where_positions_say_and_turns_in_more_frames_than_tap_sees():
    videos, positions = moving_shapes(50, frames=40, seed=5)
    bright = videos[..., 0] > 0.8  # only the disc is brighter than 0.8
    visible = bright.sum(axis=(2, 3)) > 0
    centres = np.arange(32) + 0.5
    count = np.maximum(bright.sum(axis=(2, 3)), 1)
    rows = (bright * centres[:, None]).sum(axis=(2, 3)) / count
    columns = (bright * centres[None, :]).sum(axis=(2, 3)) / count
    error = np.hypot(rows - positions[..., 0], columns - positions[..., 1])
    assert np.median(error[visible]) < 0.5 and np.percentile(error[visible], 95) < 2.5
    shown = bright.sum(axis=(2, 3))
    assert 0.05 < np.mean(shown < 0.5 * np.median(shown)) < 0.4, "the bar hides most of the disc now and then"
    # The disc comes back to the same place once a turn: 10 to 16 frames, more than TAP's window of 6.
    for track in positions:
        gaps = np.linalg.norm(track[None, :20] - track[:, None, :20], axis=-1)  # (20, 20) distances
        returns = [lag for lag in range(1, 20) if np.all(np.diagonal(gaps, offset=lag) < 0.5)]
        assert returns and MIN_PERIOD <= returns[0] <= MAX_PERIOD


def test_bad_arguments_are_refused():
    for kwargs in ({"n": -1}, {"n": 2, "frames": 0}, {"n": 2, "size": 8}, {"n": 2.5}):
        with pytest.raises(ValueError):
            moving_shapes(**kwargs)


def test_probe_models_carry_the_weights_the_judge_computes_with():
    encoder, step, decoder = (
        probe_model(part, seed=7, latent_dim=4, window=3) for part in ("encoder", "step", "decoder")
    )
    weights = probe_weights(7, latent_dim=4, window=3)
    assert np.array_equal(step.get_weights()[0], weights["step_kernel"])
    assert (
        encoder.output_shape == (None, 4)
        and step.input_shape == (None, 3, 4)
        and decoder.output_shape == (None, 32, 32, 1)
    )
    with pytest.raises(ValueError):
        probe_model("optimizer")


def test_the_rollout_reference_is_a_keras_rollout_of_the_probe_models():
    import importlib.util

    spec = importlib.util.spec_from_file_location("tp5_rollout", paths.graders("tp5") / "test_rollout.py")
    rollout = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(rollout)
    options = {"seed": rollout.SEED, "latent_dim": rollout.LATENT, "window": rollout.WINDOW}
    encoder, step, decoder = (probe_model(part, **options) for part in ("encoder", "step", "decoder"))
    frames = np.random.default_rng(1).uniform(size=(2, 5, 32, 32, 1)).astype(np.float32)
    history = [encoder.predict(frames[:, t], verbose=0) for t in range(5)]
    for _ in range(3):
        history.append(step.predict(np.stack(history[-rollout.WINDOW :], axis=1), verbose=0))
    keras_frames = np.stack([decoder.predict(z, verbose=0) for z in history[5:]], axis=1)
    assert np.allclose(rollout.numpy_rollout(frames, 3), keras_frames, atol=1e-5)


def test_the_ssim_reference_is_tensorflows():
    import tensorflow as tf

    rng = np.random.default_rng(2)
    a = rng.uniform(size=(3, 2, 32, 32, 1)).astype(np.float32)
    b = np.clip(a + rng.normal(0, 0.2, a.shape), 0, 1).astype(np.float32)
    assert np.allclose(metrics.ssim(a, b), tf.image.ssim(a, b, max_val=1.0).numpy(), atol=1e-5)
