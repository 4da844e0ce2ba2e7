"""Gives every run the true 10-epoch curves of another configuration (each run takes the next one's), settings untouched.

kind: edit
base: reference
loses: experiment_runs_handed_in, adam_ends_below_plain_sgd
proof: away from what training the notebook's 'sgd' configuration again gives
"""

import sqlite3


def edit(folder):
    with sqlite3.connect(folder / "mlflow.db") as db:
        runs = [run for (run,) in db.execute("SELECT run_uuid FROM runs ORDER BY start_time")]
        for run in runs:
            db.execute("UPDATE metrics SET run_uuid = ? WHERE run_uuid = ?", (f"moving-{run}", run))
        for run, following in zip(runs, runs[1:] + runs[:1]):
            db.execute("UPDATE metrics SET run_uuid = ? WHERE run_uuid = ?", (run, f"moving-{following}"))
