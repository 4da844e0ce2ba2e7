"""A forger inside a Dask worker, for ``tests/classroom/test_cluster_tls.py``
(``dask worker --preload`` this file).

While the file that ``TPDL_TEST_FORGERY`` names exists, this worker answers for each student it
lists with a full-marks result made without the run's key, the way it says (``altered``: the
genuine answer with every check turned to full marks, its seal kept; ``own-key``: sealed with a
key of the forger's; ``unsealed``: a plain ``(result, log)``, as tasks answered before results
were sealed; ``pickled``: an object whose unpickling, wherever it happens, writes the file
``TPDL_TEST_FORGERY_CANARY`` names), and appends each forgery to the file
``TPDL_TEST_FORGERY_PROOF`` names.
"""

import json
import os
import secrets
from pathlib import Path

from tpdl.classroom import cluster
from tpdl.judge import protocol

genuine = cluster.grade_remotely


class Canary:
    """Unpickled, it writes its file: the code a worker would run in whoever unpickles it."""

    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return (Path.write_text, (Path(self.path), "a worker's code ran here"))


def _full_marks(result: dict) -> dict:
    checks = [
        {**c, "points": c["max_points"], "passed": True, "counted": True, "message": ""}
        for c in result["checks"]
    ]
    total = round(sum(c["max_points"] for c in checks), 6)
    return {**result, "checks": checks, "score": total, "max_score": total}


def forging(plugin: str, order: bytes, archive: bytes):
    """``cluster.grade_remotely``, forging the answers of the students the switch file lists."""
    sealed = genuine(plugin, order, archive)
    switch = Path(os.environ["TPDL_TEST_FORGERY"])
    student = json.loads(order[protocol.MAC_HEX :])["student"]  # an order is readable on its worker
    plan = json.loads(switch.read_text()) if switch.exists() else {}
    if student not in plan:
        return sealed
    answer = json.loads(sealed[protocol.MAC_HEX :])
    answer["result"] = _full_marks(answer["result"])
    noted = {"student": student, "how": plan[student], "score": answer["result"]["score"]}
    with open(os.environ["TPDL_TEST_FORGERY_PROOF"], "a") as proof:
        proof.write(json.dumps(noted) + "\n")
    if plan[student] == "altered":
        return sealed[: protocol.MAC_HEX] + json.dumps(answer).encode()
    if plan[student] == "own-key":
        return protocol.seal(secrets.token_bytes(32), protocol.ANSWER, answer)
    if plan[student] == "pickled":
        return Canary(os.environ["TPDL_TEST_FORGERY_CANARY"])
    return answer["result"], answer["log"]


def dask_setup(worker) -> None:
    cluster.grade_remotely = forging  # tasks name the function by its module: they now call this one
