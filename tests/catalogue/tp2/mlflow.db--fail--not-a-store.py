"""A file named mlflow.db that is not an SQLite database.

apply: edit
loses: experiment_runs_handed_in, adam_ends_below_plain_sgd
"""


def edit(folder):
    (folder / "mlflow.db").write_text("these are my results, trust me\n")
