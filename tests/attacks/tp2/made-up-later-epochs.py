"""Runs the experiment for one epoch, then invents the nine epochs after it: true first epochs, made-up curves after.

Every run records the notebook's settings and 10 epochs; only step 0 is what training gave. The
invented epochs fall smoothly from the true first one, Adam's fastest, so Adam ends far below SGD.

kind: edit
base: reference
loses: experiment_runs_handed_in, adam_ends_below_plain_sgd
proof: at step 1, 
"""

import sqlite3


def edit(folder):
    with sqlite3.connect(folder / "mlflow.db") as db:
        for run, name in db.execute("SELECT run_uuid, name FROM runs").fetchall():
            decay = 0.6 if name.startswith("adam") else 0.9
            first = dict(db.execute("SELECT key, value FROM metrics WHERE run_uuid = ? AND step = 0", (run,)))
            for step in range(1, 10):
                for key, value in first.items():
                    made_up = value * decay**step if "loss" in key else 1 - (1 - value) * decay**step
                    db.execute("UPDATE metrics SET value = ? WHERE run_uuid = ? AND key = ? AND step = ?",
                               (made_up, run, key, step))
