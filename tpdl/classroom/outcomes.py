"""What a class run makes of each student, and the errors that stop it: the class's results as
``tpdl grade --json`` states them, and the results of students graded without grading."""

from dataclasses import dataclass, field

from tpdl.classroom import gradebook, report
from tpdl.grading import Result

RESULTS = "results.json"
PROFILE = "profile.json"  # with --profile: where the grading time went
CHECK_KEYS = ("name", "points", "max_points", "passed", "message")


class UsageError(Exception):
    """A problem with how the command was called; the message says what to change."""


class InfrastructureError(Exception):
    """The machine cannot grade (no sandbox, a grader that does not load)."""


@dataclass
class ClassResult:
    assignment: str
    students: dict[str, dict] = field(default_factory=dict)  # id -> results.json content
    graded_now: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    refused: dict[str, str] = field(default_factory=dict)  # folder name (shown) -> why it is not graded
    infrastructure: list[str] = field(default_factory=list)  # students whose grading hit a problem of ours
    totals: dict = field(default_factory=dict)  # id -> tpdl.classroom.gradebook.Totals, hand grades included
    profiles: dict[str, dict] = field(default_factory=dict)  # id -> tpdl.judge.profile, students graded now
    outputs: report.Outputs | None = None  # where the run writes (None: the class's folders)

    def __post_init__(self):
        self.outputs = self.outputs or report.Outputs(self.assignment)

    def to_json(self) -> dict:
        return {
            "assignment": self.assignment,
            "students": {sid: self.student_json(sid, r) for sid, r in sorted(self.students.items())},
            "refused": dict(sorted(self.refused.items())),
        }

    def student_json(self, student: str, result: dict) -> dict:
        """A student's entry: the judge's score, out of the one maximum (``gradebook.maximum``)."""
        most = gradebook.maximum(result, self.totals.get(student))
        totals = {"totals": self.totals[student].to_json()} if student in self.totals else {}
        checks = [{key: check[key] for key in CHECK_KEYS} for check in result["checks"]]
        return {
            "score": result["score"],
            "max_score": most.max_score,
            "not_counted": most.not_counted,
            "checks": checks,
            **totals,
        }


def empty_result(student: str, assignment: str, **extra) -> dict:
    """A result with no check: a student not graded (``extra`` says why)."""
    return {**Result(student, assignment).to_json(), **extra}


def problem_result(student: str, assignment: str, what: str) -> tuple[dict, str]:
    """``(result, log)`` of a student whose grading hit a problem of ours: graded again by the next run."""
    last_line = what.splitlines()[-1][:300] if what else "error"
    return empty_result(student, assignment, infrastructure=last_line), what
