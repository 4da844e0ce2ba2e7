"""Does a warm pool lend its zygote to one client at a time over typed lines, and does a client
know when there is none?"""

import shutil
import socket
import tempfile
from pathlib import Path

import pytest
import warm_pool

from tpdl.judge import pool, protocol, sandbox


@pytest.fixture
def runtime_dir(monkeypatch):
    """A private folder where this test's pool listens (no other pool of the machine answers); not
    under pytest's base folder, which a test run started beside this one may clean away."""
    folder = Path(tempfile.mkdtemp(prefix="tpdl-pool-test-"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(folder))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_no_pool_listening_means_grading_starts_its_own_jail(runtime_dir):
    assert pool.address().parent.parent == runtime_dir
    assert pool.connect(sandbox.Limits()) is None


@pytest.mark.slow
def test_a_pool_lends_its_zygote_hangs_up_on_a_line_that_is_no_request_and_serves_the_next(
    runtime_dir, notebook_folder
):
    with warm_pool.serving(runtime_dir) as server:
        pooled = pool.connect(sandbox.Limits(notebook_s=60.0))
        assert isinstance(pooled, sandbox.PooledZygote)
        worker = pooled.spawn("notebook", notebook_folder("def one():\n    return 1"), "n.ipynb")
        assert worker.ask(protocol.Call(name="one")).value == 1
        pooled.discard(worker)
        pooled.close()
        assert server.stdout.readline().strip() == "served a grading run"
        with pytest.raises(sandbox.SandboxUnavailable, match="the warm pool stopped"):
            pooled.spawn("notebook", None)  # a client does not start a jail of its own in the pool's place
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as raw:
            raw.connect(str(pool.address()))
            stream = raw.makefile("rw", buffering=1)
            protocol.parse_line(protocol.PoolHello, stream.readline(), "the pool's hello")
            stream.write('{"op": "spawn", "token": "0123456789ab"}\n')  # no key, no limits: not a Spawn
            assert stream.readline() == ""  # the pool hung up without asking its zygote
        assert server.stdout.readline().strip() == "served a grading run"
        assert pool.address().exists(), "the pool still listens after a client that broke the protocol"
        again = pool.connect(sandbox.Limits(notebook_s=60.0))
        assert isinstance(again, sandbox.PooledZygote), "the pool serves the next client"
        again.close()
