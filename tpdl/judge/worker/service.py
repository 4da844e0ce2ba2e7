"""The ``service`` worker: serves the student's web application with gunicorn until the judge stops it.

The application is a WSGI app made by a factory of the student's module (``app.py``); gunicorn
serves it on a free port of the jail's loopback interface, which the worker tells the judge in
its ``protocol.ServiceReady``. The ``models`` worker is its HTTP client.
"""

import importlib
import os
import socket
import sys
from typing import Any

from tpdl.judge import protocol
from tpdl.judge.worker.common import send_ready


def service_worker(sock: socket.socket, spawn: protocol.Spawn) -> None:
    """Serve ``module.factory(*args)`` from the submission with gunicorn on a free loopback port."""
    from gunicorn.app.base import BaseApplication  # not preloaded: only this kind of worker serves

    options = spawn.options
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.set_inheritable(True)
    port = listener.getsockname()[1]
    sys.path.insert(0, spawn.work)

    class Service(BaseApplication):
        def load_config(self) -> None:
            for key, value in {
                "bind": [f"fd://{listener.fileno()}"],
                "workers": 1,
                "timeout": 60,
                "graceful_timeout": 1,
                "accesslog": None,
                "errorlog": "-",
                "worker_tmp_dir": os.environ.get("TMPDIR", "/tmp"),
            }.items():
                self.cfg.set(key, value)

        def load(self) -> Any:  # in gunicorn's worker process, after the fork: the student's code
            module = importlib.import_module(str(options["module"]))
            factory = getattr(module, str(options["factory"]))
            arguments = options.get("args") or []
            return factory(*(arguments if isinstance(arguments, list) else []))

    send_ready(sock, protocol.ServiceReady(port=port))
    Service().run()
