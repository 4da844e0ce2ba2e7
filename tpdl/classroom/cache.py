"""What a class run's results depend on: a student graded with the same fingerprint is not graded again."""

import hashlib
import json

from tpdl.core import i18n, paths
from tpdl.grading import docker_engine, ingredients
from tpdl.judge import intake, sandbox


def cache_key(assignment: str, limits: sandbox.Limits) -> str:
    """Everything besides the submission that can change a grade, hashed: upgrading any of it regrades."""
    parts = {
        "kit": ingredients.tree_digest(paths.PACKAGE),  # its code, templates and fixtures
        "graders": ingredients.tree_digest(paths.graders(assignment)),
        "graders' library": [ingredients.file_digest(p) for p in sorted(paths.graders().glob("*.py"))],
        "its messages": ingredients.tree_digest(paths.graders() / "locale"),
        "language": i18n.language(),  # results hold the messages in the students' language
        "data": ingredients.data_at_hand(),
        "limits": repr(limits),
        "software": ingredients.software(),
        "docker": docker_state(assignment),
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def docker_state(assignment: str) -> str:
    """What the Docker checks depend on here (engine, base images, package index), for the TPs that
    hand in a Dockerfile only: an engine starting or stopping regrades no other TP."""
    return docker_engine.state(assignment) if docker_engine.builds_images(assignment) else "no Docker checks"


def fingerprint(key: str, staged: intake.Staged, notebook: str) -> str:
    """A staged submission's fingerprint under the run's cache ``key``."""
    return hashlib.sha256(f"{key}\n{staged.digest}\n{notebook}".encode()).hexdigest()
