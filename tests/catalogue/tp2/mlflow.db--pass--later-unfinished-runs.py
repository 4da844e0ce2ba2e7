"""Later runs of the same names that did not finish (a notebook interrupted): the finished ones count.

apply: edit
checks: experiment_runs_handed_in, adam_ends_below_plain_sgd
"""

import sqlite3
import uuid


def edit(folder):
    with sqlite3.connect(folder / "mlflow.db") as db:
        latest = db.execute("SELECT MAX(start_time), experiment_id FROM runs").fetchone()
        for offset, name in enumerate(("adam", "sgd"), start=1):
            db.execute(
                "INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, user_id, status, "
                "start_time, end_time, source_version, lifecycle_stage, artifact_uri, experiment_id) "
                "VALUES (?, ?, 'LOCAL', '', '', 'student', 'FAILED', ?, ?, '', 'active', '', ?)",
                (uuid.uuid4().hex, name, latest[0] + offset, latest[0] + offset + 1, latest[1]),
            )
