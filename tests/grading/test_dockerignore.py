"""TP1's grader reads ``.dockerignore`` as Docker does: the examples of Docker's documentation."""

import importlib.util

import pytest

from tpdl.core import paths


def grader_module(name: str):
    spec = importlib.util.spec_from_file_location(f"tp1_{name}", paths.graders("tp1") / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


dockerfile = grader_module("test_dockerfile")

# (the .dockerignore, paths Docker leaves out, paths it sends), from Docker's documentation.
DOCUMENTED = [
    (
        "# comment\n*/temp*\n*/*/temp*\ntemp?\n",
        ["somedir/temporary.txt", "somedir/temp", "somedir/subdir/temporary.txt", "tempa", "tempb"],
        ["temp.txt", "temporary.txt", "a/b/c/temp.txt"],
    ),
    ("**/*.go\n", ["main.go", "cmd/tool/main.go"], ["main.py", "go.mod"]),
    ("*.md\n!README.md\n", ["CHANGES.md"], ["README.md"]),
    (
        "*.md\n!README*.md\nREADME-secret.md\n",
        ["CHANGES.md", "README-secret.md"],
        ["README.md", "README-a.md"],
    ),
    ("*.md\nREADME-secret.md\n!README*.md\n", ["CHANGES.md"], ["README-secret.md", "README.md"]),
    # what TP1 hands in, written the ways Docker allows
    (
        "**/*.ipynb\nmlruns\nmlflow.db\n",
        ["tp1.ipynb", "mlruns/1/run/artifacts/mnist_dense.keras", "mlflow.db"],
        ["app.py", "requirements.txt"],
    ),
    ("/mlruns/\n*.ipynb\n/mlflow.db\n", ["tp1.ipynb", "mlruns/1/run/meta.yaml", "mlflow.db"], ["app.py"]),
    (
        "*\n!app.py\n!requirements.txt\n!mnist_dense.keras\n",
        ["tp1.ipynb", "mlflow.db", "mlruns/1/x"],
        ["app.py", "requirements.txt", "mnist_dense.keras"],
    ),
]


@pytest.mark.parametrize(("text", "left_out", "sent"), DOCUMENTED)
def test_dockerignore_follows_dockers_semantics(text, left_out, sent):
    rules = dockerfile.dockerignore_rules(text)
    assert [p for p in left_out if not dockerfile.dockerignore_excludes(rules, p)] == []
    assert [p for p in sent if dockerfile.dockerignore_excludes(rules, p)] == []
