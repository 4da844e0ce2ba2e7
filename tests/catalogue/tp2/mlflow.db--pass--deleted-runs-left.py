"""Extra runs the student deleted in the MLflow UI (lifecycle 'deleted') stay in the file: they are ignored.

apply: edit
checks: experiment_runs_handed_in, adam_ends_below_plain_sgd
"""

import sqlite3
import uuid


def edit(folder):
    with sqlite3.connect(folder / "mlflow.db") as db:
        latest = db.execute("SELECT MAX(start_time), experiment_id FROM runs").fetchone()
        run = uuid.uuid4().hex
        db.execute(
            "INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, user_id, status, "
            "start_time, end_time, source_version, lifecycle_stage, artifact_uri, experiment_id) "
            "VALUES (?, 'adam', 'LOCAL', '', '', 'student', 'FINISHED', ?, ?, '', 'deleted', '', ?)",
            (run, latest[0] + 5, latest[0] + 6, latest[1]),
        )
        db.execute(
            "INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) VALUES ('val_loss', 99.0, 0, ?, 0, 0)",
            (run,),
        )
