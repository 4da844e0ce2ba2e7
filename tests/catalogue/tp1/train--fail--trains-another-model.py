"""Fits a model of its own and leaves the one it is given untrained.

loses: train_learns
"""


def train(model, x, y, budget):
    own = keras.models.clone_model(model)
    own.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
    return own.fit(x, y, validation_split=0.1, epochs=budget.pick(full=12, ci=2), batch_size=128, verbose=0)
