"""Divides by H * W * C (every entry of the activations) instead of H * W: right only for one channel.

loses: gram_matrix_follows_the_definition
"""


def gram_matrix(features):
    if len(features.shape) != 4:
        raise ValueError(f"features should have shape (batch, H, W, C), not {tuple(features.shape)}")
    features = keras.ops.cast(features, "float32")
    _, h, w, c = keras.ops.shape(features)
    return keras.ops.einsum("bijc,bijd->bcd", features, features) / keras.ops.cast(h * w * c, "float32")
