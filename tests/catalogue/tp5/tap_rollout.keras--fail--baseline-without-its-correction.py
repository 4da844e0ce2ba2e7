"""A TAP whose correction is switched off (it repeats the last latent): a weak baseline that would flatter H-TAP.

apply: edit
cells: htap_models_tests
loses: tap_is_a_real_baseline
"""


def edit(folder):
    import keras
    import numpy as np

    rollout = keras.saving.load_model(folder / "tap_rollout.keras")
    step = next(layer for layer in rollout.layers if isinstance(layer, keras.Model))
    correction = [layer for layer in step.layers if isinstance(layer, keras.layers.Dense)][-1]
    correction.set_weights([np.zeros_like(w) for w in correction.get_weights()])
    rollout.save(folder / "tap_rollout.keras")
