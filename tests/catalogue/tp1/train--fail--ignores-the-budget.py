"""Trains for 12 epochs whatever the budget.

loses: train_respects_the_ci_budget
"""


def train(model, x, y, budget):
    return model.fit(x, y, validation_split=0.1, epochs=12, batch_size=128, verbose=0)
