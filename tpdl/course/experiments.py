"""TP2's experiment model, given to students and rerun by the judge: one definition for both.

The notebook builds every configuration's network with :func:`build_mlp`; the judge trains the same
network with :func:`train_mlp` (in a worker that runs no student code) to check what a student's
``train_and_log`` returns and what a handed-in tracking store claims.
"""

import numpy as np


def build_mlp(config: dict, input_dim: int = 784, n_classes: int = 10):
    """A compiled 256-128 MLP with the optimiser and regularisers of ``config``."""
    import keras

    regularizer = keras.regularizers.L2(config["l2"]) if config["l2"] else None
    layers = [keras.Input(shape=(input_dim,))]
    for width in (256, 128):
        layers.append(keras.layers.Dense(width, kernel_regularizer=regularizer))
        if config["batch_norm"]:
            layers.append(keras.layers.BatchNormalization())
        layers.append(keras.layers.Activation("relu"))
        if config["dropout"]:
            layers.append(keras.layers.Dropout(config["dropout"]))
    layers.append(keras.layers.Dense(n_classes, activation="softmax", kernel_regularizer=regularizer))
    rate = config["learning_rate"]
    optimizer = {
        "sgd": lambda: keras.optimizers.SGD(rate, momentum=config["momentum"], nesterov=config["nesterov"]),
        "rmsprop": lambda: keras.optimizers.RMSprop(rate),
        "adam": lambda: keras.optimizers.Adam(rate),
    }[config["optimizer"]]()
    model = keras.Sequential(layers)
    model.compile(optimizer=optimizer, loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def prepare(images: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Images (N, 28, 28) or (N, 784) as flattened float32 in [0, 1], labels as one-hot float32,
    exactly as the notebook prepares them (uint8 images are divided by 255)."""
    x = images.reshape(len(images), -1).astype("float32")
    if images.dtype == np.uint8:
        x = x / 255.0
    return x, np.eye(10, dtype="float32")[np.asarray(labels).astype(int)]


def train_mlp(config: dict, data: tuple, epochs: int, batch_size: int, seed: int) -> dict[str, list[float]]:
    """Train ``build_mlp(config)`` on ``data`` = (images, labels, val images, val labels) as the
    notebook's ``train_and_log`` does (seed set first); ``history.history``."""
    import keras

    (x_train, y_train), (x_val, y_val) = prepare(*data[:2]), prepare(*data[2:])
    keras.utils.set_random_seed(seed)
    model = build_mlp(config)
    history = model.fit(
        x_train, y_train, validation_data=(x_val, y_val), epochs=epochs, batch_size=batch_size, verbose=0
    )
    return {key: [float(v) for v in values] for key, values in history.history.items()}
