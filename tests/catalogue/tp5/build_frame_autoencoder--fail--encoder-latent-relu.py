"""The encoder's final Dense has a ReLU: latents are never negative (the spec says no activation).

loses: frame_autoencoder_maps_frames_to_latents_and_back
"""
def build_frame_autoencoder(latent_dim=LATENT):
    """``(encoder, decoder)``: 32x32 grey frames to ``latent_dim`` values, and back."""
    if latent_dim < 1:
        raise ValueError(f"latent_dim must be at least 1, not {latent_dim}")
    frames = keras.Input((32, 32, 1))
    x = layers.Conv2D(16, 3, strides=2, padding="same", activation="relu")(frames)
    x = layers.Conv2D(32, 3, strides=2, padding="same", activation="relu")(x)
    encoder = keras.Model(frames, layers.Dense(latent_dim, activation="relu")(layers.Flatten()(x)), name="encoder")
    latents = keras.Input((latent_dim,))
    y = layers.Reshape((8, 8, 32))(layers.Dense(8 * 8 * 32, activation="relu")(latents))
    y = layers.Conv2DTranspose(16, 3, strides=2, padding="same", activation="relu")(y)
    y = layers.Conv2DTranspose(1, 3, strides=2, padding="same", activation="sigmoid")(y)
    decoder = keras.Model(latents, y, name="decoder")
    return encoder, decoder
