"""A store without the run of one configuration (adam-l2).

apply: edit
loses: experiment_runs_handed_in
"""

import sqlite3


def edit(folder):
    with sqlite3.connect(folder / "mlflow.db") as db:
        db.execute("DELETE FROM runs WHERE name = 'adam-l2'")
