"""No recurrence: the flattened window through dense layers, predicting the latent from scratch.

loses: tap_is_recurrent_and_corrects_the_last_latent
"""


def build_tap(window=TAP_WINDOW, latent_dim=LATENT, units=128):
    if min(window, latent_dim, units) < 1:
        raise ValueError("window, latent_dim and units must be at least 1")
    latents = keras.Input((window, latent_dim))
    hidden = layers.Dense(units, activation="relu")(layers.Flatten()(latents))
    return keras.Model(latents, layers.Dense(latent_dim)(hidden))
