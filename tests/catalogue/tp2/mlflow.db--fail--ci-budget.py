"""A store made on the ci budget: every run 2 epochs on 1,000 images, as the notebook's quick check trains it.

apply: edit
loses: experiment_runs_handed_in, adam_ends_below_plain_sgd
"""

import sqlite3


def edit(folder):
    with sqlite3.connect(folder / "mlflow.db") as db:
        db.execute("DELETE FROM metrics WHERE step >= 2")
        db.execute("UPDATE params SET value = '2' WHERE key = 'epochs'")
        db.execute("UPDATE params SET value = '1000' WHERE key = 'train_size'")
