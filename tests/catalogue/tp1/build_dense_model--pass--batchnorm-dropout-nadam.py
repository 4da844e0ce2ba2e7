"""Batch normalisation and dropout, Nadam, the softmax given as a function."""


def build_dense_model(input_dim=784, n_classes=10):
    model = keras.Sequential(
        [
            keras.Input((input_dim,)),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.BatchNormalization(),
            keras.layers.Dropout(0.1),
            keras.layers.Dense(n_classes, activation=keras.activations.softmax),
        ]
    )
    model.compile("nadam", "categorical_crossentropy", metrics=["accuracy"])
    return model
