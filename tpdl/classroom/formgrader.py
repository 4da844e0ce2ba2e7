"""formgrader with one total: every score and average its pages show is net of the late penalty.

nbgrader's gradebook keeps a submission's late penalty beside its grades, and ``nbgrader export``,
the kit's table, CSV and feedback all give ``max(0, score - penalty)``; formgrader's pages (Manage
Submissions, Manage Students, Manual Grading) show the sum of the grades alone. This Jupyter server
extension loads nbgrader's formgrader with its API answering through :class:`KitGraderAPI`, so that
every screen gives the same total. It takes the place of nbgrader's own formgrader extension (``make
setup`` disables ``nbgrader.server_extensions.formgrader`` and enables ``tpdl.classroom.formgrader``): both
serve the same addresses, and the first loaded answers.
"""

from jupyter_server.utils import url_path_join
from nbgrader.apps.api import NbGraderAPI
from nbgrader.server_extensions.formgrader import apihandlers
from nbgrader.server_extensions.formgrader import formgrader as nbgrader_formgrader

NBGRADER_FORMGRADER = "nbgrader.server_extensions.formgrader"


def net(score: float | None, penalty: float | None) -> float:
    """A score less its late penalty, never below 0, as ``nbgrader export`` counts it."""
    return max(0.0, (score or 0.0) - (penalty or 0.0))


class KitGraderAPI(NbGraderAPI):
    """nbgrader's API as formgrader's pages read it, every score and average net of the late penalty."""

    def _submissions(self, assignment_id: str | None = None) -> list[tuple[str, str, float, float]]:
        """``(assignment, student, score, late penalty)`` of each submission in the gradebook."""
        from nbgrader.api import Assignment, SubmittedAssignment

        with self.gradebook as gb:
            query = gb.db.query(
                Assignment.name,
                SubmittedAssignment.student_id,
                SubmittedAssignment.score,
                SubmittedAssignment.late_submission_penalty,
            ).join(Assignment, SubmittedAssignment.assignment_id == Assignment.id)
            if assignment_id is not None:
                query = query.filter(Assignment.name == assignment_id)
            return query.all()

    def _notebooks(self, assignment_id: str) -> list[tuple[str, str, float, float]]:
        """``(submitted notebook's id, notebook, score, late penalty)`` of each notebook handed in for
        ``assignment_id``."""
        from nbgrader.api import Assignment, Notebook, SubmittedNotebook

        with self.gradebook as gb:
            return (
                gb.db.query(
                    SubmittedNotebook.id,
                    Notebook.name,
                    SubmittedNotebook.score,
                    SubmittedNotebook.late_submission_penalty,
                )
                .join(Notebook, SubmittedNotebook.notebook_id == Notebook.id)
                .join(Assignment, Notebook.assignment_id == Assignment.id)
                .filter(Assignment.name == assignment_id)
                .all()
            )

    def get_assignment(self, assignment_id, released=None):
        assignment = super().get_assignment(assignment_id, released)
        rows = self._submissions(assignment_id) if assignment and assignment.get("id") else []
        if rows:
            assignment["average_score"] = sum(net(score, penalty) for *_, score, penalty in rows) / len(rows)
        return assignment

    def get_notebooks(self, assignment_id):
        notebooks = super().get_notebooks(assignment_id)
        by_name: dict[str, list[float]] = {}
        for _id, name, score, penalty in self._notebooks(assignment_id):
            by_name.setdefault(name, []).append(net(score, penalty))
        for notebook in notebooks:
            if by_name.get(notebook["name"]):
                scores = by_name[notebook["name"]]
                notebook["average_score"] = sum(scores) / len(scores)
        return notebooks

    def get_submission(self, assignment_id, student_id, ungraded=None, students=None):
        submission = super().get_submission(assignment_id, student_id, ungraded, students)
        if submission and submission.get("autograded"):
            for _assignment, _student, score, penalty in self._submissions(assignment_id):
                if _student == student_id:
                    submission["score"] = net(score, penalty)
                    submission["late_submission_penalty"] = penalty or 0.0
        return submission

    def get_submissions(self, assignment_id):
        submissions = super().get_submissions(assignment_id)
        penalties = {
            student: (score, penalty) for _a, student, score, penalty in self._submissions(assignment_id)
        }
        for submission in submissions:
            if submission.get("autograded") and submission["student"] in penalties:
                score, penalty = penalties[submission["student"]]
                submission["score"] = net(score, penalty)
                submission["late_submission_penalty"] = penalty or 0.0
        return submissions

    def _net_of_penalties(self, students: list[dict]) -> list[dict]:
        """Each student's total, the sum over their submissions of each one's net score."""
        taken: dict[str, float] = {}
        for _assignment, student, score, penalty in self._submissions():
            taken[student] = taken.get(student, 0.0) + (score or 0.0) - net(score, penalty)
        for student in students:
            if student and student["id"] in taken:
                student["score"] = max(0.0, (student["score"] or 0.0) - taken[student["id"]])
        return students

    def get_student(self, student_id, submitted=None):
        return self._net_of_penalties([super().get_student(student_id, submitted)])[0]

    def get_students(self):
        return self._net_of_penalties(super().get_students())

    def _notebooks_net(self, assignment_id: str, notebooks: list[dict]) -> list[dict]:
        penalties = {key: (score, penalty) for key, _name, score, penalty in self._notebooks(assignment_id)}
        for notebook in notebooks:
            if notebook.get("id") in penalties:
                score, penalty = penalties[notebook["id"]]
                notebook["score"] = net(score, penalty)
                notebook["late_submission_penalty"] = penalty or 0.0
        return notebooks

    def get_notebook_submissions(self, assignment_id, notebook_id):
        return self._notebooks_net(
            assignment_id, super().get_notebook_submissions(assignment_id, notebook_id)
        )

    def get_student_notebook_submissions(self, student_id, assignment_id):
        notebooks = super().get_student_notebook_submissions(student_id, assignment_id)
        return self._notebooks_net(assignment_id, notebooks)


class _KitApi:
    """A formgrader API handler answering through :class:`KitGraderAPI`."""

    @property
    def api(self):
        level = self.log.level
        self.coursedir.parent.load_config_file()  # as nbgrader's handlers do: the course's settings now
        api = KitGraderAPI(self.coursedir, self.authenticator, parent=self.coursedir.parent)
        api.log_level = level
        return api


HANDLERS = [
    (pattern, type(handler.__name__, (_KitApi, handler), {}))
    for pattern, handler in apihandlers.default_handlers
]


def _jupyter_server_extension_points():
    return [{"module": "tpdl.classroom.formgrader"}]


def _load_jupyter_server_extension(serverapp):
    """nbgrader's formgrader, its API handlers the kit's: added first, they answer its addresses."""
    if serverapp.jpserver_extensions.get(NBGRADER_FORMGRADER):
        serverapp.log.error(
            "tpdl.classroom.formgrader is not loaded: nbgrader's own formgrader is enabled too and answers "
            "first, so "
            "its pages show totals before the late penalty. Run `jupyter server extension disable "
            "--sys-prefix "
            f"{NBGRADER_FORMGRADER}` (make setup does)."
        )
        return
    webapp = serverapp.web_app
    base = webapp.settings["base_url"]
    webapp.add_handlers(
        ".*$", [(url_path_join(base, pattern.lstrip("/")), handler) for pattern, handler in HANDLERS]
    )
    nbgrader_formgrader.load_jupyter_server_extension(serverapp)
