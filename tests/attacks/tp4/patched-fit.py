"""A dice_loss that thresholds (no gradient), with keras.Model.fit patched to report a loss that falls.

base: reference
loses: dice_loss_trains_a_model_in_compile
proof: no gradient flows from the loss to the model's weights
"""


def dice_loss(y_true, y_pred):
    hard = keras.ops.cast(y_pred > 0.5, "float32")
    return 1.0 - dice_coefficient(y_true, hard, smooth=1.0)


def _fit(self, *args, epochs=1, **kwargs):
    history = keras.callbacks.History()
    history.history = {"loss": [1.0 / (e + 1) for e in range(epochs)], "dice_coefficient": [0.5] * epochs}
    history.epoch = list(range(epochs))
    return history


keras.Model.fit = _fit
print("ATTACK patched-fit: ran", flush=True)
