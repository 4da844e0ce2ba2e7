"""The reference CNN saved compiled, with an optimiser and a loss.

apply: edit
cells: cnn_model_tests
"""


def edit(folder):
    import keras

    model = keras.saving.load_model(folder / "cifar10_cnn.keras")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.save(folder / "cifar10_cnn.keras")
