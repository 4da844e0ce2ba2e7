"""Sums over the positions without dividing by their number: larger images get larger Gram matrices.

loses: gram_matrix_follows_the_definition, gram_matrix_does_not_grow_with_the_image
"""


def gram_matrix(features):
    if len(features.shape) != 4:
        raise ValueError(f"features should have shape (batch, H, W, C), not {tuple(features.shape)}")
    features = keras.ops.cast(features, "float32")
    return keras.ops.einsum("bijc,bijd->bcd", features, features)
