"""A debug run of sgd made after the experiment in another experiment (MLflow's Default one): 2 epochs at another learning rate, not counted.

apply: edit
checks: experiment_runs_handed_in, adam_ends_below_plain_sgd
"""

import sqlite3
import uuid


def edit(folder):
    with sqlite3.connect(folder / "mlflow.db") as db:
        (latest,) = db.execute("SELECT MAX(start_time) FROM runs").fetchone()
        (default,) = db.execute("SELECT experiment_id FROM experiments WHERE name = 'Default'").fetchone()
        run = uuid.uuid4().hex
        db.execute(
            "INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, user_id, status, "
            "start_time, end_time, source_version, lifecycle_stage, artifact_uri, experiment_id) "
            "VALUES (?, 'sgd', 'LOCAL', '', '', 'student', 'FINISHED', ?, ?, '', 'active', '', ?)",
            (run, latest + 60_000, latest + 62_000, default),
        )
        params = {"optimizer": "sgd", "learning_rate": "0.1", "momentum": "0.0", "nesterov": "False",
                  "dropout": "0.0", "l2": "0.0", "batch_norm": "False", "epochs": "2", "batch_size": "128",
                  "seed": "0", "train_size": "1000"}  # fmt: skip
        for key, value in params.items():
            db.execute("INSERT INTO params (key, value, run_uuid) VALUES (?, ?, ?)", (key, value, run))
        for step in range(2):
            for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
                db.execute(
                    "INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) VALUES (?, ?, 0, ?, ?, 0)",
                    (key, 0.5 / (step + 1), run, step),
                )
