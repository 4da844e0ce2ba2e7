"""Gives the encoder's second convolution `DEPTH` filters, a constant only the reversal task's
cell (tagged skip-grading) sets: it builds when the whole notebook runs, and raises NameError at
grading.

loses: frame_autoencoder_maps_frames_to_latents_and_back, frame_decoder_gives_pixels
"""


def build_frame_autoencoder(latent_dim=LATENT):
    if latent_dim < 1:
        raise ValueError(f"latent_dim must be at least 1, not {latent_dim}")
    encoder = keras.Sequential(
        [
            keras.Input((32, 32, 1)),
            layers.Conv2D(16, 3, strides=2, padding="same", activation="relu"),
            layers.Conv2D(DEPTH, 3, strides=2, padding="same", activation="relu"),
            layers.Flatten(),
            layers.Dense(latent_dim),
        ],
        name="encoder",
    )
    decoder = keras.Sequential(
        [
            keras.Input((latent_dim,)),
            layers.Dense(8 * 8 * 32, activation="relu"),
            layers.Reshape((8, 8, 32)),
            layers.Conv2DTranspose(16, 3, strides=2, padding="same", activation="relu"),
            layers.Conv2DTranspose(1, 3, strides=2, padding="same", activation="sigmoid"),
        ],
        name="decoder",
    )
    return encoder, decoder
