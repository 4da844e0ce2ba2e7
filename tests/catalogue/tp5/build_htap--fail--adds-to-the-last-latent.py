"""Adds the retrieved latents to the last one, as TAP adds its correction: no longer a mix of past latents.

loses: htap_predicts_a_mix_of_past_latents
"""


def build_htap(history=CONTEXT, latent_dim=LATENT, key_dim=64, span=2):
    if history < 3:
        raise ValueError(f"history must be at least 3, not {history}")
    if not 2 <= span < history:
        raise ValueError(f"span must lie in [2, history), not {span}")
    latents = keras.Input((history, latent_dim))

    def retrieve(query, keys, values):
        project = layers.Dense(key_dim, use_bias=False)
        return layers.Attention(use_scale=True)([project(query), values, project(keys)])

    last = layers.Cropping1D((history - 1, 0))(latents)
    fine = retrieve(last, layers.Cropping1D((0, 1))(latents), layers.Cropping1D((1, 0))(latents))
    means = layers.AveragePooling1D(span, strides=1)(latents)
    coarse = retrieve(
        layers.Cropping1D((history - span, 0))(means),
        layers.Cropping1D((0, 1))(means),
        layers.Cropping1D((span, 0))(latents),
    )
    total = layers.Add()([last, fine, coarse])
    return keras.Model(latents, layers.Flatten()(total))
