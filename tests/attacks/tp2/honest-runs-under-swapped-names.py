"""Names SGD's true run 'adam' and Adam's true run 'sgd', settings and curves together: the reruns of what each records agree.

kind: edit
base: reference
loses: experiment_runs_handed_in, adam_ends_below_plain_sgd
proof: records other settings than the notebook's experiment gives it: learning_rate, optimizer
"""

import sqlite3


def edit(folder):
    with sqlite3.connect(folder / "mlflow.db") as db:
        db.execute("UPDATE runs SET name = CASE name WHEN 'adam' THEN 'sgd' ELSE 'adam' END "
                   "WHERE name IN ('adam', 'sgd')")
        db.execute("UPDATE tags SET value = CASE value WHEN 'adam' THEN 'sgd' ELSE 'adam' END "
                   "WHERE key = 'mlflow.runName' AND value IN ('adam', 'sgd')")
