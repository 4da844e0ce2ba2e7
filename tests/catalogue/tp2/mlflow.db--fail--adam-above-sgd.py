"""A store in which Adam's validation losses are plain SGD's and the other way round.

apply: edit
loses: experiment_runs_handed_in, adam_ends_below_plain_sgd
"""

import sqlite3


def edit(folder):
    with sqlite3.connect(folder / "mlflow.db") as db:
        ids = dict(db.execute("SELECT name, run_uuid FROM runs WHERE name IN ('adam', 'sgd')"))
        db.execute(
            "UPDATE metrics SET run_uuid = 'swap' WHERE run_uuid = ? AND key = 'val_loss'", (ids["adam"],)
        )
        db.execute(
            "UPDATE metrics SET run_uuid = ? WHERE run_uuid = ? AND key = 'val_loss'",
            (ids["adam"], ids["sgd"]),
        )
        db.execute("UPDATE metrics SET run_uuid = ? WHERE run_uuid = 'swap'", (ids["sgd"],))
