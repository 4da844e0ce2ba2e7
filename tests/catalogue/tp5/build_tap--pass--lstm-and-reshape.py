"""An LSTM, and the last latent taken with Cropping1D then Reshape."""


def build_tap(window=TAP_WINDOW, latent_dim=LATENT, units=128):
    for name, value in (("window", window), ("latent_dim", latent_dim), ("units", units)):
        if value < 1:
            raise ValueError(f"{name} must be at least 1, not {value}")
    latents = keras.Input((window, latent_dim))
    correction = layers.Dense(latent_dim)(layers.LSTM(units)(latents))
    last = layers.Reshape((latent_dim,))(layers.Cropping1D((window - 1, 0))(latents))
    return keras.Model(latents, layers.add([correction, last]))
