"""The functional API with batch normalisation, RMSprop and a loss object."""


def build_dense_model(input_dim=784, n_classes=10):
    inputs = keras.Input(shape=(input_dim,))
    h = keras.layers.Dense(300, activation="relu")(inputs)
    h = keras.layers.BatchNormalization()(h)
    h = keras.layers.Dense(100, activation="relu")(h)
    outputs = keras.layers.Dense(n_classes, activation="softmax")(h)
    model = keras.Model(inputs, outputs)
    model.compile(
        optimizer=keras.optimizers.RMSprop(),
        loss=keras.losses.CategoricalCrossentropy(),
        metrics=[keras.metrics.CategoricalAccuracy()],
    )
    return model
