"""Attends, at both scales, over the last 6 latents only: a "H-TAP" with TAP's short memory.

loses: htap_reads_the_oldest_latents
"""


def build_htap(history=CONTEXT, latent_dim=LATENT, key_dim=64, span=2):
    if history < 3:
        raise ValueError(f"history must be at least 3, not {history}")
    if not 2 <= span < history:
        raise ValueError(f"span must lie in [2, history), not {span}")
    latents = keras.Input((history, latent_dim))
    recent = layers.Cropping1D((max(history - 6, 0), 0))(latents)
    n = min(history, 6)

    def retrieve(query, keys, values):
        project = layers.Dense(key_dim, use_bias=False)
        return layers.Attention(use_scale=True)([project(query), values, project(keys)])

    fine = retrieve(
        layers.Cropping1D((n - 1, 0))(recent),
        layers.Cropping1D((0, 1))(recent),
        layers.Cropping1D((1, 0))(recent),
    )
    s = min(span, n - 1)
    means = layers.AveragePooling1D(s, strides=1)(recent)
    coarse = retrieve(
        layers.Cropping1D((n - s, 0))(means),
        layers.Cropping1D((0, 1))(means),
        layers.Cropping1D((s, 0))(recent),
    )
    both = layers.Concatenate(axis=1)([fine, coarse])
    gate = layers.Dense(2, activation="softmax")(layers.Flatten()(both))
    mixed = layers.Dot(axes=1)([layers.Reshape((2, 1))(gate), both])
    return keras.Model(latents, layers.Flatten()(mixed))
