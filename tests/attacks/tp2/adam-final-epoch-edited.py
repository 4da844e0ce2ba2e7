"""Keeps the true experiment but edits the last epoch of Adam's run: its validation loss lowered from 0.181 to 0.12.

kind: edit
base: reference
loses: experiment_runs_handed_in, adam_ends_below_plain_sgd
proof: records a val_loss of 0.1200 at step 9
"""

import sqlite3


def edit(folder):
    with sqlite3.connect(folder / "mlflow.db") as db:
        (run,) = db.execute("SELECT run_uuid FROM runs WHERE name = 'adam'").fetchone()
        db.execute("UPDATE metrics SET value = 0.12 WHERE run_uuid = ? AND key = 'val_loss' AND step = 9", (run,))
        db.execute("UPDATE latest_metrics SET value = 0.12 WHERE run_uuid = ? AND key = 'val_loss'", (run,))
