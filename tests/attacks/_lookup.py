"""What the lookup attacks share: a Keras model, of dense layers only, that looks public images up.

A fixed random projection to ``width`` values, then one unit per stored image whose weights are that
image's projection, normalised and multiplied by a large temperature: the softmax over them picks the
stored image of highest cosine similarity (an input's norm scales every unit alike), and a last
dense layer maps it to its stored label. It classifies the stored images perfectly and loads with
``safe_mode=True``.
"""

import numpy as np

TEMPERATURE = 300.0


def lookup_model(images: np.ndarray, labels: np.ndarray, input_shape: tuple, width: int = 128, convolution: bool = False):
    import keras

    flat = images.reshape(len(images), -1).astype("float32")
    projection = np.random.default_rng(0).normal(0, 1 / np.sqrt(flat.shape[1]), (flat.shape[1], width)).astype("float32")
    templates = flat @ projection
    templates /= np.linalg.norm(templates, axis=1, keepdims=True) + 1e-12
    layers = [keras.Input(input_shape)]
    weights = []
    if convolution:  # an identity 1x1 convolution, for a check that asks for one
        channels = input_shape[-1]
        layers.append(keras.layers.Conv2D(channels, 1, use_bias=False))
        weights.append(np.eye(channels, dtype="float32").reshape(1, 1, channels, channels))
    layers += [
        keras.layers.Flatten(),
        keras.layers.Dense(width, use_bias=False),
        keras.layers.Dense(len(images), use_bias=False, activation="softmax"),
        keras.layers.Dense(10, use_bias=False),
    ]
    weights += [projection, (templates * TEMPERATURE).T, np.eye(10, dtype="float32")[np.asarray(labels, int)]]
    model = keras.Sequential(layers)
    model.set_weights(weights)
    return model
