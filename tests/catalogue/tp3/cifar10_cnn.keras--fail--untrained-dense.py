"""A dense network on flattened pixels, handed in untrained.

apply: edit
cells: cnn_model_tests
loses: cnn_beats_the_course_on_the_test_set, cnn_is_convolutional
"""


def edit(folder):
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Flatten()(keras.layers.Rescaling(1 / 255)(inputs))
    x = keras.layers.Dense(64, activation="relu")(x)
    keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x)).save(folder / "cifar10_cnn.keras")
