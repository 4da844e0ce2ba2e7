"""The student's web application, served by gunicorn in the jail; the judge's requests reach it
through the models worker."""

import json
import time

import numpy as np

from tpdl.core.i18n import KIT as _
from tpdl.grading.staged import StagedCopy
from tpdl.judge import protocol, sandbox
from tpdl.judge.session import Session, StudentCodeError


class Service:
    """The student's web application served by gunicorn in the jail; requests go through the models worker."""

    def __init__(self, session: Session, worker: sandbox.Worker):
        self.session = session
        self.worker = worker
        if not isinstance(worker.ready, protocol.ServiceReady):
            raise TypeError(f"a service's worker first said {type(worker.ready).__name__}, not ServiceReady")
        self.port = worker.ready.port

    def exchange(self, *exchanges: dict) -> list[dict]:
        """Send each request (``method``, ``path``, optional ``json``, ``body``, ``headers``,
        ``timeout_s``) in turn; each answer as a dict, with its body parsed as ``json`` (or None)."""
        prepared = []
        for exchange in exchanges:
            exchange = dict(exchange)
            headers = {str(k): str(v) for k, v in dict(exchange.pop("headers", {})).items()}
            if "json" in exchange:
                exchange["body"] = json.dumps(exchange.pop("json"), allow_nan=True)
                headers.setdefault("Content-Type", "application/json")
            if isinstance(exchange.get("body"), bytes):
                exchange["body"] = np.frombuffer(exchange["body"], dtype=np.uint8)
            if "timeout_s" in exchange:
                exchange["timeout_s"] = float(exchange["timeout_s"])
            prepared.append(protocol.HttpExchange(**exchange, headers=headers))
        answers = self.session.ask_models(
            protocol.Http(port=self.port, exchanges=prepared),
            lambda reason: _("Querying your application failed: its process {reason}.", reason=reason),
        )
        plain = [protocol.plain(answer) for answer in answers]
        for answer in plain:
            answer["json"] = _json_or_none(answer["body"]) if answer["status"] is not None else None
            if answer["status"] is None:
                answer["body"] = None
        return plain

    def request(self, method: str, path: str, **exchange) -> dict:
        return self.exchange({"method": method, "path": path, **exchange})[0]

    def remove(self, relative: str) -> None:
        """Delete a file of the service's copy of the submission (does it still answer without it?)."""
        self.session.remove_from(self.worker, relative)


def _json_or_none(text):
    try:
        return json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return None


class ServiceQuestions(StagedCopy):
    """What a grader asks of the student's web application."""

    def serve(self, module: str, factory: str, *args, ready_s: float = 60.0) -> Service:
        """Serve ``factory(*args)`` of the student's ``module`` with gunicorn, answering ``GET /health``.

        Raises :class:`StudentCodeError` if the application does not answer within ``ready_s``.
        """
        if not self.has_file(f"{module}.py"):
            raise StudentCodeError(_("{file} is not in your submission.", file=f"{module}.py"))
        service = Service(self.session, self.session.start_service(module, factory, list(args)))
        deadline = time.monotonic() + ready_s
        while True:
            answer = service.request("GET", "/health", timeout_s=5)
            if answer["status"] is not None:
                return service
            if service.worker.hung_up():
                self.session.events.append(f"service stopped before answering: {answer.get('error')}")
                raise StudentCodeError(
                    _(
                        "gunicorn serving {module}:{factory}(...) stopped before it answered "
                        "(does importing app.py and calling create_app work?)",
                        module=module,
                        factory=factory,
                    )
                )
            if time.monotonic() > deadline:
                self.session.events.append(f"service did not answer: {answer.get('error')}")
                raise StudentCodeError(
                    _(
                        "gunicorn serving {module}:{factory}(...) did not answer within {seconds:.0f} s "
                        "(does importing app.py and calling create_app work?)",
                        module=module,
                        factory=factory,
                        seconds=ready_s,
                    )
                )
            time.sleep(0.5)
