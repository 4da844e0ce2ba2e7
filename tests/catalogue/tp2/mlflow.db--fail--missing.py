"""The notebook without its tracking store.

apply: edit
loses: experiment_runs_handed_in, adam_ends_below_plain_sgd
"""


def edit(folder):
    (folder / "mlflow.db").unlink()
