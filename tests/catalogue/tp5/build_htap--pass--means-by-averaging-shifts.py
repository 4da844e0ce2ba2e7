"""The coarse means as the average of shifted crops, and one helper for both scales."""


def build_htap(history=CONTEXT, latent_dim=LATENT, key_dim=64, span=2):
    if history < 3 or span < 2 or span >= history:
        raise ValueError(f"need history >= 3 and 2 <= span < history, not history={history}, span={span}")
    latents = keras.Input((history, latent_dim))

    def scale(summaries, width):
        # summaries[k] covers latents k .. k+width-1; the latent after it is latents[k + width].
        projection = layers.Dense(key_dim, use_bias=False)
        count = history - width + 1
        query = projection(layers.Cropping1D((count - 1, 0))(summaries))
        keys = projection(layers.Cropping1D((0, 1))(summaries))
        values = layers.Cropping1D((width, 0))(latents)
        return layers.Attention(use_scale=True)([query, values, keys])

    shifted = [layers.Cropping1D((k, span - 1 - k))(latents) for k in range(span)]
    means = layers.Average()(shifted)
    retrieved = layers.Concatenate(axis=1)([scale(latents, 1), scale(means, span)])
    weights = layers.Dense(2, activation="softmax")(layers.Flatten()(retrieved))
    return keras.Model(
        latents, layers.Flatten()(layers.Dot(axes=1)([layers.Reshape((2, 1))(weights), retrieved]))
    )
