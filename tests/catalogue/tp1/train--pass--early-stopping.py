"""Early stopping on the validation loss, keeping the best weights."""


def train(model, x, y, budget):
    stop = keras.callbacks.EarlyStopping(monitor="val_loss", patience=2, restore_best_weights=True)
    return model.fit(x, y, validation_split=0.1, epochs=budget.pick(full=15, ci=3), batch_size=64,
                     callbacks=[stop], verbose=0)  # fmt: skip
