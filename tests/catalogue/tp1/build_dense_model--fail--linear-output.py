"""Ends with a linear layer: the outputs are logits, not probabilities.

loses: build_dense_model_outputs_probabilities
"""


def build_dense_model(input_dim=784, n_classes=10):
    model = keras.Sequential(
        [keras.Input((input_dim,)), keras.layers.Dense(64, activation="relu"), keras.layers.Dense(n_classes)]
    )
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return model
