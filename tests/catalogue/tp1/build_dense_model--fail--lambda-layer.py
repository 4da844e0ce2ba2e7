"""Uses a Lambda layer, which cannot be loaded safely (it holds arbitrary code).

loses: build_dense_model_uses_only_dense_layers
"""


def build_dense_model(input_dim=784, n_classes=10):
    model = keras.Sequential(
        [
            keras.Input((input_dim,)),
            keras.layers.Lambda(lambda t: t * 2.0),
            keras.layers.Dense(n_classes, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model
