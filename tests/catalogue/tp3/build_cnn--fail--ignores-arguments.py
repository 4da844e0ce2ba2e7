"""Always builds a network for 32x32 colour images and ten classes, whatever it is asked.

loses: build_cnn_honours_its_arguments, build_cnn_rejects_bad_input
"""


def build_cnn(input_shape=(32, 32, 3), n_classes=10):
    inputs = keras.Input((32, 32, 3))
    x = layers.Rescaling(1 / 255)(inputs)
    for filters in (32, 64, 128):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling2D(2)(x)
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, layers.Dense(10, activation="softmax")(x))
