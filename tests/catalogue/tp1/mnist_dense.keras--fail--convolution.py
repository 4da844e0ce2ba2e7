"""A convolutional network saved as mnist_dense.keras (the TP asks for a dense one).

apply: edit
cells: saved_model_tests
loses: saved_model_is_dense
"""


def edit(folder):
    import keras

    model = keras.Sequential(
        [
            keras.Input((784,)),
            keras.layers.Reshape((28, 28, 1)),
            keras.layers.Conv2D(8, 3, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.save(folder / "mnist_dense.keras")
