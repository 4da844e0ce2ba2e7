"""Hard-codes 784 inputs and 10 classes whatever it is asked for.

loses: build_dense_model_honours_its_arguments
"""


def build_dense_model(input_dim=784, n_classes=10):
    model = keras.Sequential(
        [
            keras.Input((784,)),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model
