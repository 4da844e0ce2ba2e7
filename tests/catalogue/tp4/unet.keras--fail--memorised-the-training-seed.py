"""Memorised the first training phantom: a per-pixel map of its mask, output whatever the image (perfect on that phantom, blind to fresh ones).

apply: edit
cells: unet_model_tests
loses: unet_segments_fresh_phantoms
"""


def edit(folder):
    import keras
    import numpy as np

    from tpdl.course.phantoms import phantoms

    _, masks = phantoms(1, seed=0)  # the notebook's training seed
    inputs = keras.Input((128, 128, 1))
    memory = keras.layers.LayerNormalization(axis=[1, 2, 3])  # one (gamma, beta) per pixel
    model = keras.Model(inputs, keras.layers.Activation("sigmoid")(memory(inputs)))
    memory.set_weights([np.zeros((128, 128, 1)), np.where(masks[0] == 1, 8.0, -8.0)])
    model.save(folder / "unet.keras")
