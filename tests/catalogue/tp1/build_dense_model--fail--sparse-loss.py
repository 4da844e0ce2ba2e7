"""Compiles with the sparse loss, which expects integer labels, not one-hot rows.

loses: build_dense_model_is_compiled_for_one_hot_labels
"""


def build_dense_model(input_dim=784, n_classes=10):
    model = keras.Sequential(
        [
            keras.Input((input_dim,)),
            keras.layers.Dense(64, activation="relu"),
            keras.layers.Dense(n_classes, activation="softmax"),
        ]
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model
