"""One hidden layer, SGD with momentum, the loss given as a function."""


def build_dense_model(input_dim=784, n_classes=10):
    model = keras.Sequential()
    model.add(keras.Input(shape=(input_dim,)))
    model.add(keras.layers.Dense(128, activation="tanh"))
    model.add(keras.layers.Dropout(0.5))
    model.add(keras.layers.Dense(n_classes, activation="softmax"))
    model.compile(
        optimizer=keras.optimizers.SGD(0.05, momentum=0.9),
        loss=keras.losses.categorical_crossentropy,
        metrics=["accuracy"],
    )
    return model
