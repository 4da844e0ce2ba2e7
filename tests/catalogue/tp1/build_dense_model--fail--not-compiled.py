"""Forgets to compile the model.

loses: build_dense_model_is_compiled_for_one_hot_labels
"""


def build_dense_model(input_dim=784, n_classes=10):
    return keras.Sequential(
        [
            keras.Input((input_dim,)),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(n_classes, activation="softmax"),
        ]
    )
