"""The grader's view of a submission: the ``student`` fixture every hidden grader receives.

A grader asks questions of a :class:`Submission` (call a function, load a saved model, serve the
web application, read a tracking store); each becomes one request of ``tpdl.judge.protocol`` to one of
the submission's workers (``tpdl.judge.session``), and comes back as plain data. The student's code
never runs in the judge's process, and what the judge expects is never sent. A question the
student's code cannot answer raises :class:`StudentCodeError`, with a message for the student.

The questions are grouped by whom they are asked: the notebook worker (``tpdl.grading.calls``), the
kit's own graphs and reference runs (``tpdl.grading.kit_runs``), the models worker
(``tpdl.grading.models``), the student's web application (``tpdl.grading.service``) and the staged
copy itself (``tpdl.grading.staged``).
"""

from pathlib import Path

from tpdl.grading.kit_runs import KitRuns
from tpdl.grading.models import Model, ModelQuestions
from tpdl.grading.service import Service, ServiceQuestions
from tpdl.judge import sandbox
from tpdl.judge.session import Session, StudentCodeError

__all__ = ["Model", "Service", "StudentCodeError", "Submission"]


class Submission(ModelQuestions, KitRuns, ServiceQuestions):
    """One student's submission as the graders see it (its staged copy at ``path``)."""

    def __init__(self, zygote: sandbox.Zygote, path: Path, notebook: str, student: str = "student"):
        self.session = Session(zygote, Path(path), notebook)
        self.path = Path(path)
        self.notebook = notebook
        self.student = student
        self.note = ""  # what the running check reports even when it passes (a latency, say)

    @property
    def cells(self) -> list[dict]:
        return self.session.cells

    @property
    def events(self) -> list[str]:
        return self.session.events

    def close(self) -> None:
        """Stop this submission's workers and whatever they left running in the jail."""
        self.session.close()
