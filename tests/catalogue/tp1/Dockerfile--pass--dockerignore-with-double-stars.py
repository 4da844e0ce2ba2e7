"""A .dockerignore written with Docker's ``**`` (any folders, the root included) and a folder rule
with a leading slash: Docker leaves the notebook, the runs and the store out all the same.

cells: dockerfile_tests

apply: edit
"""

TEXT = """# what the image does not need
**/*.ipynb
**/.ipynb_checkpoints
/mlruns/
mlflow.db
**/__pycache__
"""


def edit(folder):
    (folder / ".dockerignore").write_text(TEXT)
