"""Flattens the positions and multiplies the transposed features by the features."""


def gram_matrix(features):
    if len(features.shape) != 4:
        raise ValueError("gram_matrix expects (batch, height, width, channels)")
    shape = keras.ops.shape(features)
    flat = keras.ops.reshape(keras.ops.cast(features, "float32"), (shape[0], shape[1] * shape[2], shape[3]))
    positions = keras.ops.cast(shape[1] * shape[2], "float32")
    return keras.ops.matmul(keras.ops.transpose(flat, (0, 2, 1)), flat) / positions
