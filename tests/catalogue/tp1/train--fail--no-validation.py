"""Holds out no validation data: the History has no val_loss.

loses: train_returns_the_history
"""


def train(model, x, y, budget):
    return model.fit(x, y, epochs=budget.pick(full=12, ci=2), batch_size=128, verbose=0)
