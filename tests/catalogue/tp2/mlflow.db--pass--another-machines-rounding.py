"""The store of another machine: every metric of every run off by the widest drift measured between machines.

The first epoch within 1e-4, later epochs' losses and accuracies 2.3 % (val_loss), 0.0026 (the
training loss) and 0.004 (accuracies) away, up or down, as TensorFlow's sums in another order give.

apply: edit
checks: experiment_runs_handed_in, adam_ends_below_plain_sgd
"""

import sqlite3

DRIFT = {"val_loss": ("relative", 0.023), "loss": ("absolute", 0.0026), "accuracy": ("absolute", 0.004),
         "val_accuracy": ("absolute", 0.004)}  # fmt: skip


def edit(folder):
    with sqlite3.connect(folder / "mlflow.db") as db:
        rows = db.execute("SELECT rowid, key, step, value FROM metrics").fetchall()
        for rowid, key, step, value in rows:
            sign = 1 if (rowid + step) % 2 else -1
            if step == 0:
                drifted = value * (1 + sign * 1e-4)
            elif DRIFT[key][0] == "relative":
                drifted = value * (1 + sign * DRIFT[key][1])
            else:
                drifted = value + sign * DRIFT[key][1]
            db.execute("UPDATE metrics SET value = ? WHERE rowid = ?", (drifted, rowid))
