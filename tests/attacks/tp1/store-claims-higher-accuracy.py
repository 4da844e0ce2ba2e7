"""Edits the handed-in MLflow store so that the training run claims a test accuracy its model never reached.

kind: edit
base: reference
graders: test_log_training.py, test_saved_model.py
loses: training_run_handed_in
proof: records a test accuracy of 0.9990
"""

import sqlite3


def edit(folder):
    with sqlite3.connect(folder / "mlflow.db") as db:
        db.execute("UPDATE metrics SET value = 0.999 WHERE key = 'test_accuracy'")
        db.execute("UPDATE latest_metrics SET value = 0.999 WHERE key = 'test_accuracy'")
