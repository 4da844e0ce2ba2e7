"""The trained U-Net saved compiled, with its optimiser and a loss of the student's own: the network loads, the loss is not needed.

apply: edit
cells: unet_model_tests
"""


def edit(folder):
    import keras

    def my_segmentation_loss(y_true, y_pred):
        return keras.ops.mean(keras.losses.binary_crossentropy(y_true, y_pred))

    model = keras.saving.load_model(folder / "unet.keras")
    model.compile(optimizer=keras.optimizers.Adam(1e-4), loss=my_segmentation_loss)
    model.save(folder / "unet.keras")
