"""The experiment's runs logged under another experiment's name than the notebook's (its EXPERIMENT changed).

apply: edit
loses: experiment_runs_handed_in, adam_ends_below_plain_sgd
"""

import sqlite3


def edit(folder):
    with sqlite3.connect(folder / "mlflow.db") as db:
        db.execute("UPDATE experiments SET name = 'my-optimisers' WHERE name = 'tp2-optimisers'")
