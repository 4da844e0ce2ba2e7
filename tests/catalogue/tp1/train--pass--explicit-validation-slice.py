"""Slices the last tenth off by hand and passes it as validation_data."""


def train(model, x, y, budget):
    cut = int(len(x) * 0.9)
    epochs = 12 if budget.is_full else 2
    return model.fit(
        x[:cut], y[:cut], validation_data=(x[cut:], y[cut:]), epochs=epochs, batch_size=128, verbose=0
    )
