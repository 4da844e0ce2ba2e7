"""Earlier finished runs of the same names with other settings (the student explored first): the latest run of each name counts.

apply: edit
checks: experiment_runs_handed_in, adam_ends_below_plain_sgd
"""

import sqlite3
import uuid


def edit(folder):
    with sqlite3.connect(folder / "mlflow.db") as db:
        earliest, experiment = db.execute("SELECT MIN(start_time), experiment_id FROM runs").fetchone()
        for offset, (name, rate) in enumerate((("sgd", "0.1"), ("adam", "0.01")), start=1):
            run = uuid.uuid4().hex
            db.execute(
                "INSERT INTO runs (run_uuid, name, source_type, source_name, entry_point_name, user_id, status, "
                "start_time, end_time, source_version, lifecycle_stage, artifact_uri, experiment_id) "
                "VALUES (?, ?, 'LOCAL', '', '', 'student', 'FINISHED', ?, ?, '', 'active', '', ?)",
                (run, name, earliest - 1000 * offset, earliest - 1000 * offset + 500, experiment),
            )
            params = {"optimizer": name, "learning_rate": rate, "momentum": "0.0", "nesterov": "False",
                      "dropout": "0.0", "l2": "0.0", "batch_norm": "False", "epochs": "3", "batch_size": "128",
                      "seed": "0", "train_size": "10000"}  # fmt: skip
            for key, value in params.items():
                db.execute("INSERT INTO params (key, value, run_uuid) VALUES (?, ?, ?)", (key, value, run))
            for step in range(3):
                for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
                    db.execute(
                        "INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) VALUES (?, ?, 0, ?, ?, 0)",
                        (key, 0.5 / (step + 1), run, step),
                    )
