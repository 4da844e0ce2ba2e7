"""The reference's U-Net saved with the weights it was initialised with: never trained.

apply: edit
cells: unet_model_tests
loses: unet_segments_fresh_phantoms
"""


def edit(folder):
    import keras

    trained = keras.saving.load_model(folder / "unet.keras")
    keras.utils.set_random_seed(0)
    type(trained).from_config(trained.get_config()).save(folder / "unet.keras")
