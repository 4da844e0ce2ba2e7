"""A crafted store whose runs table is a view that never ends: the judge's reader stops it, the grading goes on.

apply: edit
loses: experiment_runs_handed_in, adam_ends_below_plain_sgd
"""

import sqlite3


def edit(folder):
    (folder / "mlflow.db").unlink()
    with sqlite3.connect(folder / "mlflow.db") as db:
        db.execute("CREATE TABLE experiments (experiment_id INTEGER, name TEXT)")
        db.execute("CREATE TABLE params (key TEXT, value TEXT, run_uuid TEXT)")
        db.execute(
            "CREATE TABLE metrics (key TEXT, value REAL, timestamp INTEGER, run_uuid TEXT, step INTEGER)"
        )
        db.execute(
            "CREATE VIEW runs AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) "
            "SELECT i AS run_uuid, 'adam' AS name, 'FINISHED' AS status, i AS start_time, i AS end_time, "
            "0 AS experiment_id, 'active' AS lifecycle_stage FROM n"
        )
