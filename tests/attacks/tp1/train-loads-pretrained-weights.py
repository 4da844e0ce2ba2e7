"""A train that fits nothing: it copies the weights of the model handed in, trained beforehand on MNIST.

base: reference
graders: test_train.py
loses: train_learns
proof: pixels and classes shuffled with seed
"""


def train(model, x_train, y_train, budget):
    history = model.fit(x_train[:1], y_train[:1], epochs=1, validation_split=0.0, verbose=0)
    history.history["val_loss"], history.history["val_accuracy"] = history.history["loss"], history.history["accuracy"]
    model.set_weights(keras.saving.load_model("mnist_dense.keras").get_weights())
    return history
