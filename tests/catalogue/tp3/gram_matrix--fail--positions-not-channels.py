"""Multiplies the features the other way round: an (HW x HW) matrix of positions, not channels.

loses: gram_matrix_follows_the_definition, gram_matrix_does_not_grow_with_the_image
"""


def gram_matrix(features):
    if len(features.shape) != 4:
        raise ValueError(f"features should have shape (batch, H, W, C), not {tuple(features.shape)}")
    batch, height, width, channels = features.shape
    flat = keras.ops.reshape(keras.ops.cast(features, "float32"), (-1, height * width, channels))
    return keras.ops.matmul(flat, keras.ops.transpose(flat, (0, 2, 1))) / (height * width)
