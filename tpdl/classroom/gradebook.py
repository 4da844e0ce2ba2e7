"""The kit's side of nbgrader's gradebook: what ``tpdl grade`` writes there and reads back.

nbgrader's formgrader, ``nbgrader export`` and ``release_feedback`` read the gradebook as complete
only when each submission has its timestamp, every autograded cell has its score with
``needs_manual_grade`` cleared, and the late penalty is set. :func:`record` writes all of that from
the judge's results; the points an instructor enters by hand in formgrader stay where nbgrader keeps
them, and :func:`record` returns, per student, the one total that nbgrader's export gives too
(:class:`Totals`): automatic points + manual points - late penalty.

The course's own nbgrader settings (late-penalty plugin, exchange, course id) are read from
``nbgrader_config.py`` by :func:`settings`, the way nbgrader reads them.
"""

import functools
import os
import re
import stat
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tpdl.core import i18n, paths
from tpdl.judge import intake

_ = i18n.KIT  # what the students are told

TIMESTAMP_FILE = "timestamp.txt"
SECRET_FILE = "submission_secret.txt"
SUBMISSION_FILES = (TIMESTAMP_FILE, SECRET_FILE)  # what nbgrader's own commands need beside a graded notebook
_MOST_BYTES = 256
_SECRET = re.compile(r"[A-Za-z0-9_-]{1,128}")


@dataclass
class Waiting:
    """Points no grader has given yet: a hand-graded answer, or a check this machine could not run."""

    cell: str
    max_points: float
    why: str


@dataclass
class Totals:
    """One student's total as nbgrader's gradebook (and so ``nbgrader export``) holds it."""

    automatic: float = 0.0
    manual: float = 0.0
    late_penalty: float = 0.0
    score: float = 0.0  # automatic + manual - late penalty, never below 0
    max_score: float = 0.0  # every graded cell, hand-graded ones included
    timestamp: str = ""
    waiting: list[Waiting] = field(default_factory=list)
    comments: list[tuple[str, str]] = field(default_factory=list)  # (cell, the instructor's comment)

    def to_json(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Maximum:
    """What a student's score is out of, as every output shows it: all the points (nbgrader's
    ``max_score``), of which ``not_counted`` are not counted yet (a check not run on this machine,
    an answer waiting for a hand grade)."""

    max_score: float
    not_counted: float


def maximum(result: dict, totals: Totals | None = None) -> Maximum:
    """The one maximum of a student's score: the gradebook's where it holds the student (every
    grade cell, as ``nbgrader export`` gives it), else the judge's checks, counted or not; with
    the points not counted yet apart."""
    if totals is not None:
        return Maximum(round(totals.max_score, 6), round(sum(w.max_points for w in totals.waiting), 6))
    uncounted = sum(c["max_points"] for c in result.get("checks", []) if not c.get("counted", True))
    return Maximum(round(result.get("max_score", 0.0) + uncounted, 6), round(uncounted, 6))


@functools.lru_cache(maxsize=4)
def _settings(course: str):
    from traitlets.config.loader import PyFileConfigLoader

    return PyFileConfigLoader("nbgrader_config.py", path=course).load_config()


def settings():
    """The course's nbgrader configuration (``nbgrader_config.py``), as nbgrader loads it."""
    return _settings(str(paths.course_dir()))


def read_small_file(folder: Path, name: str) -> str | None:
    """The text of ``folder/name`` if it is a small regular file (it is the student's), else None."""
    try:
        fd = os.open(folder / name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        data = os.read(fd, _MOST_BYTES + 1)
    finally:
        os.close(fd)
    if len(data) > _MOST_BYTES:
        return None
    return data.decode("utf-8", "replace").strip()


def submission_time(folder: Path) -> tuple[str, str]:
    """``(ISO timestamp, note)`` from the submission's ``timestamp.txt``; ``""`` where there is none."""
    from nbgrader.utils import parse_utc

    text = read_small_file(folder, TIMESTAMP_FILE)
    if text is None:
        return "", ""
    try:
        return parse_utc(text).isoformat(), ""
    except Exception:  # noqa: BLE001 - any text at all may be there
        return "", _("{file} does not hold a date: the submission is graded as undated", file=TIMESTAMP_FILE)


def submission_files(folder: Path) -> dict[str, str]:
    """The files nbgrader's feedback commands need (``timestamp.txt``, ``submission_secret.txt``), checked."""
    found = {}
    stamp, _dating = submission_time(folder)
    if stamp:
        found[TIMESTAMP_FILE] = read_small_file(folder, TIMESTAMP_FILE)
    secret = read_small_file(folder, SECRET_FILE)
    if secret and _SECRET.fullmatch(secret):
        found[SECRET_FILE] = secret
    return found


def _by_cell(result: dict) -> tuple[dict[str, float], set[str]]:
    """Points per grade cell of the counted checks, and the cells holding a check that was not counted."""
    points: dict[str, float] = {}
    uncounted: set[str] = set()
    for check in result.get("checks", []):
        cell = check.get("cell")
        if not cell:
            continue
        if check.get("counted", True):
            points[cell] = points.get(cell, 0.0) + check["points"]
        else:
            uncounted.add(cell)
    return points, uncounted


def record(assignment: str, students: dict[str, dict]) -> tuple[list[str], dict[str, Totals]]:
    """Write every graded student's scores, timestamp and late penalty into nbgrader's gradebook.

    Returns notes on what could not be written, and each student's :class:`Totals` as the gradebook
    holds them afterwards (hand grades included).
    """
    from nbgrader.api import Gradebook, MissingEntry

    notes: list[str] = []
    totals: dict[str, Totals] = {}
    penalties = late_penalties()  # a setting the course's plugin does not honour stops here, for all
    with warnings.catch_warnings(), Gradebook(paths.gradebook_url()) as gradebook:
        warnings.simplefilter("ignore")  # nbgrader's own SQLAlchemy warnings when it adds a submission
        try:
            gradebook.find_assignment(assignment)
        except MissingEntry:
            return [
                f"the gradebook has no assignment {assignment!r} yet (run `make release`); scores not "
                "recorded there"
            ], totals
        for student, result in students.items():
            if result.get("missing") or result.get("refused"):
                continue
            try:
                _record_student(gradebook, assignment, student, result)
                gradebook.db.commit()
                assign_late_penalty(penalties, assignment, student)
                totals[student] = read_totals(gradebook, assignment, student)
            except Exception as error:  # noqa: BLE001 - one student's row failing never loses the others'
                gradebook.db.rollback()
                notes.append(f"{student}: not recorded in the gradebook ({type(error).__name__})")
    return notes, totals


def _record_student(gradebook, assignment: str, student: str, result: dict) -> None:
    from nbgrader.utils import parse_utc

    gradebook.update_or_create_student(student)
    stamp = result.get("timestamp")
    submission = gradebook.update_or_create_submission(
        assignment, student, timestamp=parse_utc(stamp) if stamp else None
    )
    points, uncounted = _by_cell(result)
    for notebook in submission.notebooks:
        for grade in notebook.grades:
            name = grade.cell.name
            if name in points or name in uncounted:
                grade.auto_score = points.get(name, 0.0)
                # A check this machine could not run leaves its cell to be graded (by hand, or elsewhere).
                grade.needs_manual_grade = name in uncounted
            else:  # no check of the judge's: an answer graded by hand
                grade.needs_manual_grade = grade.manual_score is None


def late_penalties():
    """nbgrader's ``AssignLatePenalties`` with the plugin the course configures, its settings checked:
    one the plugin does not honour (``LateSubmissionPlugin.penalty_method``, say) raises
    ``traitlets.TraitError`` here, never ignored."""
    from nbgrader.preprocessors import AssignLatePenalties

    penalties = AssignLatePenalties(config=settings())
    penalties.init_plugin()
    return penalties


def assign_late_penalty(penalties, assignment: str, student: str) -> None:
    """nbgrader's late penalty, by the plugin the course configures (``AssignLatePenalties.plugin_class``)."""
    import nbformat
    from nbgrader.api import Gradebook

    with Gradebook(paths.gradebook_url()) as gradebook:
        names = [n.name for n in gradebook.find_assignment(assignment).notebooks]
    for name in names:
        resources = {
            "nbgrader": {
                "notebook": name,
                "assignment": assignment,
                "student": student,
                "db_url": paths.gradebook_url(),
            }
        }
        penalties.preprocess(nbformat.v4.new_notebook(), resources)


def read_totals(gradebook, assignment: str, student: str) -> Totals:
    """A student's :class:`Totals` as the gradebook holds them now."""
    submission = gradebook.find_submission(assignment, student)
    totals = Totals(
        max_score=submission.max_score or 0.0,
        timestamp=submission.timestamp.isoformat() if submission.timestamp else "",
    )
    for notebook in submission.notebooks:
        totals.late_penalty += notebook.late_submission_penalty or 0.0
        for grade in notebook.grades:
            if grade.manual_score is not None:
                totals.manual += grade.manual_score
            else:
                totals.automatic += grade.auto_score or 0.0
            totals.manual += grade.extra_credit or 0.0
            if grade.needs_manual_grade and grade.manual_score is None:
                why = (
                    _("graded by hand")
                    if grade.cell.cell_type == "markdown"
                    else _("not measured on the grading machine")
                )
                totals.waiting.append(Waiting(grade.cell.name, grade.max_score, why))
        for comment in notebook.comments:
            if comment.manual_comment:
                totals.comments.append((comment.cell.name, comment.manual_comment))
    raw = totals.automatic + totals.manual
    totals.score = max(0.0, raw - totals.late_penalty)
    return totals


def current_totals(assignment: str, student: str) -> Totals | None:
    """A student's totals now (after hand grading in formgrader, say), or None if never recorded."""
    from nbgrader.api import Gradebook, MissingEntry

    with warnings.catch_warnings(), Gradebook(paths.gradebook_url()) as gradebook:
        warnings.simplefilter("ignore")
        try:
            return read_totals(gradebook, assignment, student)
        except MissingEntry:
            return None


# --------------------------------------------------------------------------- the exchange


def exchange_root() -> Path:
    root = settings().get("Exchange", {}).get("root")
    return Path(root) if root else paths.course_dir() / "exchange"


def course_id() -> str:
    return settings().get("CourseDirectory", {}).get("course_id") or "tpdl"


def missing_after_collect(assignment: str, submissions: Path, most_entries: int = 2000) -> list[str]:
    """Notes on files that a student's latest copy in the exchange's inbound holds and ``submissions``
    lacks: what a collect step left behind. Nothing is followed or read but names."""
    inbound = exchange_root() / course_id() / "inbound"
    if not inbound.is_dir():
        return []
    latest: dict[str, str] = {}
    for entry in os.scandir(inbound):
        parts = entry.name.split("+")
        if len(parts) >= 3 and parts[1] == assignment and entry.is_dir(follow_symlinks=False):
            student, stamp = parts[0], parts[2]
            if intake.check_student_id(student):
                continue  # nbgrader's collect (the kit's) leaves it there too
            if student not in latest or stamp > latest[student].split("+")[2]:
                latest[student] = entry.name
    notes = []
    for student, name in sorted(latest.items()):
        handed_in = _names(inbound / name, most_entries)
        collected = _names(submissions / student / assignment, most_entries)
        lost = sorted(handed_in - collected - set(SUBMISSION_FILES))
        if lost:
            shown = ", ".join(lost[:8]) + (f" and {len(lost) - 8} more" if len(lost) > 8 else "")
            notes.append(f"{student}: handed in but not collected into {submissions.name}/: {shown}")
    return notes


def _names(folder: Path, most: int) -> set[str]:
    """Relative names of the regular files under ``folder`` (links not followed), at most ``most``."""
    found: set[str] = set()
    stack = [folder]
    while stack and len(found) < most:
        current = stack.pop()
        try:
            entries = list(os.scandir(current))
        except OSError:
            continue
        for entry in entries:
            if entry.name in (".ipynb_checkpoints", "__pycache__"):
                continue
            if entry.is_dir(follow_symlinks=False):
                stack.append(Path(entry.path))
            elif entry.is_file(follow_symlinks=False):
                found.add(str(Path(entry.path).relative_to(folder)))
    return found
