"""Hidden checks of ``build_tap`` (grade cell ``build_tap_tests``, 2 points)."""

import numpy as np
import pytest

from tpdl import grading
from tpdl.core import i18n

_ = i18n.domain(__file__)

lib = grading.grader_library(__file__)

pytestmark = pytest.mark.cell("build_tap_tests")

RECURRENT = {"GRU", "LSTM", "SimpleRNN", "RNN", "Bidirectional"}


@pytest.mark.points(1)
def test_tap_reads_its_window_of_latents(student):
    for args, window, latent_dim in (((), 6, 32), ((4, 8, 16), 4, 8)):
        model = student.build_model("build_tap", *args)
        shapes = (tuple(model.description["input_shape"]), tuple(model.description["output_shape"]))
        assert shapes == ((None, window, latent_dim), (None, latent_dim)), _(
            "build_tap{args} should map (None, {window}, {latent_dim}) to (None, {latent_dim}), "
            "not {input_shape} to {output_shape}",
            args=args or "()",
            window=window,
            latent_dim=latent_dim,
            input_shape=shapes[0],
            output_shape=shapes[1],
        )
    lib.assert_refuses(student, "build_tap", 0, what=_("build_tap(window=0)"))


@pytest.mark.points(1)
def test_tap_is_recurrent_and_corrects_the_last_latent(student):
    model = student.build_model("build_tap", 5, 8, 16)
    assert RECURRENT & set(model.layer_classes), _(
        "TAP's predictor reads the window with a recurrent layer (a GRU)"
    )
    # With every weight zero the recurrent state and the correction vanish: the last latent remains.
    model.set_weights([np.zeros_like(np.asarray(w)) for w in model.get_weights()])
    window = np.random.default_rng(84).normal(size=(6, 5, 8)).astype(np.float32)
    predicted = np.asarray(model.predict(window))
    assert np.allclose(predicted, window[:, -1], **lib.TENSORS), _(
        "TAP should predict the last latent of its window plus a correction; with all its weights "
        "set to zero it does not give back the last latent"
    )
