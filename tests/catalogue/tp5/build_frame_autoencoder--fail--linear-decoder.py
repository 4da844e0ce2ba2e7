"""Ends the decoder with a linear transposed convolution: its pixels leave [0, 1].

loses: frame_decoder_gives_pixels
"""


def build_frame_autoencoder(latent_dim=LATENT):
    if latent_dim < 1:
        raise ValueError(f"latent_dim must be at least 1, not {latent_dim}")
    encoder = keras.Sequential(
        [
            keras.Input((32, 32, 1)),
            layers.Conv2D(16, 3, strides=2, padding="same", activation="relu"),
            layers.Conv2D(32, 3, strides=2, padding="same", activation="relu"),
            layers.Flatten(),
            layers.Dense(latent_dim),
        ]
    )
    decoder = keras.Sequential(
        [
            keras.Input((latent_dim,)),
            layers.Dense(8 * 8 * 32, activation="relu"),
            layers.Reshape((8, 8, 32)),
            layers.Conv2DTranspose(16, 3, strides=2, padding="same", activation="relu"),
            layers.Conv2DTranspose(1, 3, strides=2, padding="same"),
        ]
    )
    return encoder, decoder
