"""Only the fine scale: one attention, each past latent's successor retrieved.

loses: htap_attends_at_two_time_scales
"""


def build_htap(history=CONTEXT, latent_dim=LATENT, key_dim=64, span=2):
    if history < 3:
        raise ValueError(f"history must be at least 3, not {history}")
    if not 2 <= span < history:
        raise ValueError(f"span must lie in [2, history), not {span}")
    latents = keras.Input((history, latent_dim))
    project = layers.Dense(key_dim, use_bias=False)
    retrieved = layers.Attention(use_scale=True)(
        [
            project(layers.Cropping1D((history - 1, 0))(latents)),
            layers.Cropping1D((1, 0))(latents),
            project(layers.Cropping1D((0, 1))(latents)),
        ]
    )
    return keras.Model(latents, layers.Flatten()(retrieved))
