"""The trained model saved with its optimiser's state (bigger, still the same predictions).

apply: edit
cells: saved_model_tests
"""


def edit(folder):
    import keras

    model = keras.saving.load_model(folder / "mnist_dense.keras")
    model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    model.save(folder / "mnist_dense.keras")
