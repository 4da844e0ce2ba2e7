"""Functional models: convolutions with max-pooling down, up-sampling and convolutions up."""


def build_frame_autoencoder(latent_dim=LATENT):
    if latent_dim <= 0:
        raise ValueError("the latent needs at least one value")
    frames = keras.Input((32, 32, 1))
    x = layers.MaxPooling2D()(layers.Conv2D(8, 3, padding="same", activation="relu")(frames))
    x = layers.MaxPooling2D()(layers.Conv2D(16, 3, padding="same", activation="relu")(x))
    encoder = keras.Model(frames, layers.Dense(latent_dim)(layers.Flatten()(x)))
    latents = keras.Input((latent_dim,))
    y = layers.Reshape((8, 8, 16))(layers.Dense(8 * 8 * 16, activation="relu")(latents))
    y = layers.Conv2D(8, 3, padding="same", activation="relu")(layers.UpSampling2D()(y))
    y = layers.Conv2D(1, 3, padding="same", activation="sigmoid")(layers.UpSampling2D()(y))
    return encoder, keras.Model(latents, y)
