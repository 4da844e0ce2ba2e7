"""A store whose SGD run records a learning rate of 0.1, not the notebook's 0.01 (an exploration handed in).

apply: edit
loses: experiment_runs_handed_in, adam_ends_below_plain_sgd
"""

import sqlite3


def edit(folder):
    with sqlite3.connect(folder / "mlflow.db") as db:
        (run,) = db.execute("SELECT run_uuid FROM runs WHERE name = 'sgd'").fetchone()
        db.execute("UPDATE params SET value = '0.1' WHERE run_uuid = ? AND key = 'learning_rate'", (run,))
