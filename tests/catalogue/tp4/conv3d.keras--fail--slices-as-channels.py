"""A 2D network over the depth folded into channels, handed in untrained.

apply: edit
cells: conv3d_model_tests
loses: conv3d_classifies_fresh_volumes, conv3d_model_convolves_in_3d
"""


def edit(folder):
    import keras

    keras.utils.set_random_seed(0)
    inputs = keras.Input((32, 32, 32, 1))
    x = keras.layers.Reshape((32, 32, 32))(inputs)
    x = keras.layers.Conv2D(8, 3, activation="relu")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(x)).save(folder / "conv3d.keras")
