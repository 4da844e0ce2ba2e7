"""A .dockerignore that lists what to leave out (notebooks, MLflow, caches) instead of what to keep.

cells: dockerfile_tests

apply: edit
"""

TEXT_0 = r"""# what the image does not need
*.ipynb
.ipynb_checkpoints/
mlruns/
mlflow.db
__pycache__/
*.png
"""


def edit(folder):
    (folder / ".dockerignore").write_text(TEXT_0)
