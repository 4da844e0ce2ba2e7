"""Hands in the experiment run for one epoch instead of the notebook's ten: every run true, and cut short.

kind: edit
base: reference
loses: experiment_runs_handed_in, adam_ends_below_plain_sgd
proof: records 1 as its number of epochs: the notebook's experiment trains every configuration 10 epochs
"""

import sqlite3


def edit(folder):
    with sqlite3.connect(folder / "mlflow.db") as db:  # what a run of epochs=1 leaves: its first epoch
        db.execute("DELETE FROM metrics WHERE step > 0")
        db.execute("UPDATE params SET value = '1' WHERE key = 'epochs'")
