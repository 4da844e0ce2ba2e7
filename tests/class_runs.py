"""What two runs of a class are compared on, whoever graded them (a cluster's workers, `--jobs 1`)."""

import json
from pathlib import Path

from tpdl.classroom import run as classroom


def checks(outcome: classroom.ClassResult) -> dict:
    """Each student's score and checks, as the run returned them."""
    keys = ("name", "points", "max_points", "passed", "message", "counted")
    return {s: (r["score"], [[c[k] for k in keys] for c in r["checks"]]) for s, r in outcome.students.items()}


def saved(course: Path, assignment: str = "tp1") -> dict:
    """Each student's results.json as the last run wrote it, its timing left out."""
    return {
        path.parent.parent.name: {k: v for k, v in json.loads(path.read_text()).items() if k != "seconds"}
        for path in (course / "autograded").glob(f"*/{assignment}/results.json")
    }
