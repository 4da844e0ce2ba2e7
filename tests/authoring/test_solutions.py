"""Do the solution notebooks run from top to bottom on the ci budget, as nbval sees them?"""

import os
import subprocess
import sys

import pytest

from tpdl.authoring import notebooks
from tpdl.core import paths


@pytest.mark.slow
@pytest.mark.parametrize("assignment", paths.assignments())
def test_the_executed_solution_passes_nbval(released, assignment):
    path = notebooks.solutions(assignment, budget="ci", run=False)  # nbval runs it, once
    env = {**os.environ, "TPDL_BUDGET": "ci"}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax", str(path)],
        cwd=path.parent,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-3000:]
