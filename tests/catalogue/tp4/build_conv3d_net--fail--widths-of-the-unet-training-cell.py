"""Widens its convolutions by `UNET_FILTERS`, which only the U-Net's training cell (tagged
skip-grading) sets: it builds when the whole notebook runs, and raises NameError at grading.

loses: build_conv3d_net_outputs_class_probabilities, build_conv3d_net_convolves_in_3d, build_conv3d_net_honours_its_arguments
"""


def build_conv3d_net(input_shape=(32, 32, 32, 1), n_classes=2):
    if len(input_shape) != 4:
        raise ValueError(f"input_shape should be (depth, height, width, channels), not {input_shape}")
    inputs = keras.Input(input_shape)
    x = inputs
    for filters in (UNET_FILTERS, 2 * UNET_FILTERS, 4 * UNET_FILTERS):
        x = layers.Conv3D(filters, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling3D(2)(x)
    x = layers.GlobalAveragePooling3D()(x)
    x = layers.Dense(32, activation="relu")(x)
    outputs = layers.Dense(n_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="conv3d_net")
