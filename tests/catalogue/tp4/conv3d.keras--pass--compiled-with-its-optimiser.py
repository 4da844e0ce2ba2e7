"""The trained 3D CNN saved compiled, with its optimiser's state.

apply: edit
cells: conv3d_model_tests
"""


def edit(folder):
    import keras

    model = keras.saving.load_model(folder / "conv3d.keras")
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.save(folder / "conv3d.keras")
