"""Hidden checks of ``build_frame_autoencoder`` (grade cell ``build_frame_autoencoder_tests``, 2 points)."""

import numpy as np
import pytest

from tpdl import grading
from tpdl.core import i18n

_ = i18n.domain(__file__)

lib = grading.grader_library(__file__)

pytestmark = pytest.mark.cell("build_frame_autoencoder_tests")

CONVOLUTIONS = {"Conv2D", "SeparableConv2D", "DepthwiseConv2D"}


def _pair(student, latent_dim):
    return (
        student.build_model_part("build_frame_autoencoder", 0, latent_dim),
        student.build_model_part("build_frame_autoencoder", 1, latent_dim),
    )


@pytest.mark.points(1)
def test_frame_autoencoder_maps_frames_to_latents_and_back(student):
    frames = np.random.default_rng(82).uniform(0.0, 1.0, size=(16, 32, 32, 1)).astype(np.float32)
    for latent_dim in (32, 7):
        encoder = student.build_model_part("build_frame_autoencoder", 0, latent_dim)
        latents = np.asarray(encoder.predict(frames))  # now: building the decoder retires the encoder
        decoder = student.build_model_part("build_frame_autoencoder", 1, latent_dim)
        shapes = (tuple(encoder.description["output_shape"]), tuple(decoder.description["output_shape"]))
        assert shapes == ((None, latent_dim), (None, 32, 32, 1)), _(
            "build_frame_autoencoder({latent_dim}): the encoder should output (None, {latent_dim}) and the "
            "decoder (None, 32, 32, 1), not {encoder_shape} and {decoder_shape}",
            latent_dim=latent_dim,
            encoder_shape=shapes[0],
            decoder_shape=shapes[1],
        )
        assert CONVOLUTIONS & set(encoder.layer_classes), _("the encoder should be convolutional")
        # Freshly initialised, a last Dense with no activation gives latents of both signs: each latent is
        # its own random mix of the features, never negative on these frames with a chance of at most 1/2,
        # so all 32 never negative is a 2**-32 chance (all zero, as a zero initialiser gives, tells nothing
        # and passes).
        assert latent_dim < 32 or latents.min() < 0.0 or latents.max() <= 0.0, _(
            "the encoder's latents are never negative: its last Dense should have no activation"
        )


@pytest.mark.points(1)
def test_frame_decoder_gives_pixels(student):
    _encoder, decoder = _pair(student, 5)
    latents = np.random.default_rng(83).normal(0.0, 4.0, size=(32, 5)).astype(np.float32)
    frames = np.asarray(decoder.predict(latents))
    assert frames.min() >= 0.0 and frames.max() <= 1.0, _(
        "the decoder's pixels range over [{low:.2f}, {high:.2f}]; frames lie in [0, 1]",
        low=frames.min(),
        high=frames.max(),
    )
    lib.assert_refuses(student, "build_frame_autoencoder", 0, what=_("build_frame_autoencoder(0)"))
