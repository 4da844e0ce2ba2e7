"""Keeps the true experiment but halves every metric of the last epoch of the six runs besides adam and sgd: the values the analysis reads.

kind: edit
base: reference
loses: experiment_runs_handed_in, adam_ends_below_plain_sgd
proof: at step 9, 
"""

import sqlite3

OTHERS = ("momentum", "nesterov", "rmsprop", "adam-dropout", "adam-l2", "adam-batchnorm")


def edit(folder):
    with sqlite3.connect(folder / "mlflow.db") as db:
        marks = ",".join("?" * len(OTHERS))
        runs = [run for (run,) in db.execute(f"SELECT run_uuid FROM runs WHERE name IN ({marks})", OTHERS)]
        for run in runs:
            db.execute("UPDATE metrics SET value = value * 0.5 WHERE run_uuid = ? AND step = 9", (run,))
            db.execute("UPDATE latest_metrics SET value = value * 0.5 WHERE run_uuid = ?", (run,))
