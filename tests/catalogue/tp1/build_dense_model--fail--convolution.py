"""Sneaks a convolution into the dense network.

loses: build_dense_model_uses_only_dense_layers
"""


def build_dense_model(input_dim=784, n_classes=10):
    model = keras.Sequential(
        [
            keras.Input((input_dim,)),
            keras.layers.Reshape((input_dim, 1)),
            keras.layers.Conv1D(4, 3, activation="relu"),
            keras.layers.Flatten(),
            keras.layers.Dense(n_classes, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model
