"""Fine values are the keys' own latents z_0 .. z_{n-2}, not their successors z_1 .. z_{n-1}.

loses: htap_predicts_a_mix_of_past_latents
"""
def build_htap(history=CONTEXT, latent_dim=LATENT, key_dim=64, span=2):
    """H-TAP's predictor: retrieval attention over the history at a fine and a coarse time scale."""
    if history < 3:
        raise ValueError(f"history must be at least 3, not {history}")
    if span < 2 or span >= history:
        raise ValueError(f"span must be at least 2 and below the history ({history}), not {span}")
    n, s = history, span
    z = keras.Input((n, latent_dim))
    fine_p = layers.Dense(key_dim, use_bias=False, name="fine_projection")
    fine_q = fine_p(layers.Cropping1D((n - 1, 0))(z))
    fine_k = fine_p(layers.Cropping1D((0, 1))(z))
    fine_v = layers.Cropping1D((0, 1))(z)
    fine = layers.Attention(use_scale=True)([fine_q, fine_v, fine_k])
    means = layers.AveragePooling1D(s, strides=1)(z)  # m_0 .. m_{n-s}
    coarse_p = layers.Dense(key_dim, use_bias=False, name="coarse_projection")
    coarse_q = coarse_p(layers.Cropping1D((n - s, 0))(means))
    coarse_k = coarse_p(layers.Cropping1D((0, 1))(means))
    coarse_v = layers.Cropping1D((s, 0))(z)
    coarse = layers.Attention(use_scale=True)([coarse_q, coarse_v, coarse_k])
    both = layers.Concatenate(axis=1)([fine, coarse])  # (batch, 2, latent)
    gate = layers.Dense(2, activation="softmax")(layers.Flatten()(both))
    gate = layers.Reshape((2,))(gate)
    out = layers.Dot(axes=1)([gate, both])
    return keras.Model(z, out)
