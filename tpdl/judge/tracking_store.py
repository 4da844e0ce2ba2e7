"""An MLflow tracking store (its SQLite file) read into plain data, without MLflow and read-only.

The ``models`` worker answers ``protocol.TrackingRuns`` with it; the benchmarks read the reference
runs' stores with it too.
"""

import contextlib
import sqlite3
from typing import Any

from tpdl.core.i18n import KIT as _
from tpdl.judge import protocol

MAX_METRIC_ROWS = 50_000
MAX_STORE_STEPS = 20_000  # thousands of SQLite instructions: far more than a real store needs
STORE_TABLES = ("experiments", "runs", "params", "metrics")


def read_tracking_store(path: str) -> protocol.TrackingStore:
    """The active runs of an MLflow SQLite store, newest first (read-only, no MLflow)."""
    uri = "file:" + path.replace("?", "%3f").replace("#", "%23") + "?mode=ro&immutable=1"
    budget = [MAX_STORE_STEPS]

    def spend() -> int:  # a crafted store cannot keep the worker busy: the query is interrupted
        budget[0] -= 1
        return 1 if budget[0] < 0 else 0

    def text(value: Any) -> str:
        return value if isinstance(value, str) else str(value)

    with contextlib.closing(sqlite3.connect(uri, uri=True)) as db:
        db.text_factory = lambda raw: raw.decode("utf-8", errors="replace")
        db.execute("PRAGMA trusted_schema = OFF")
        db.execute("PRAGMA query_only = ON")
        db.set_progress_handler(spend, 1000)
        kinds = dict(
            db.execute("SELECT name, type FROM sqlite_master WHERE name IN (?, ?, ?, ?)", STORE_TABLES)
        )
        if any(kinds.get(name) != "table" for name in STORE_TABLES):
            raise ValueError(_("it should hold the tables {tables}", tables=", ".join(STORE_TABLES)))
        experiments = {text(k): text(v) for k, v in db.execute("SELECT experiment_id, name FROM experiments")}
        rows = db.execute(
            "SELECT run_uuid, name, status, start_time, end_time, experiment_id FROM runs "
            "WHERE lifecycle_stage = 'active' ORDER BY start_time DESC LIMIT ?",
            (protocol.MAX_RUNS,),
        ).fetchall()
        runs: dict[str, dict] = {}
        for run_id, name, status, start, end, experiment in rows:
            runs[text(run_id)] = {
                "run_id": text(run_id),
                "name": text(name or ""),
                "status": text(status),
                "experiment": experiments.get(text(experiment), ""),
                "experiment_id": text(experiment),
                "start_time": start if type(start) is int else None,
                "end_time": end if type(end) is int else None,
                "params": {},
                "metrics": {},
            }
        if not runs:
            return protocol.TrackingStore(runs=[])
        marks = ",".join("?" * len(runs))
        for key, value, run_id in db.execute(
            f"SELECT key, value, run_uuid FROM params WHERE run_uuid IN ({marks})", list(runs)
        ):
            runs[text(run_id)]["params"][text(key)] = text(value)
        metrics = db.execute(
            f"SELECT key, step, value, timestamp, run_uuid FROM metrics WHERE run_uuid IN ({marks}) "
            "ORDER BY run_uuid, key, step, timestamp LIMIT ?",
            [*runs, MAX_METRIC_ROWS],
        )
        for key, step, value, _timestamp, run_id in metrics:
            runs[text(run_id)]["metrics"].setdefault(text(key), []).append((int(step), float(value)))
    return protocol.TrackingStore(runs=[protocol.RunRecord(**run) for run in runs.values()])
