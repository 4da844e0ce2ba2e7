"""Plain nbgrader assignments in a kit course: graded the nbgrader way, executed in the kit's sandbox.

An assignment without ``graders/<name>/`` (a quiz, a notebook with autograded test cells) is graded
as nbgrader grades it: ``nbgrader autograde``'s own preprocessors and gradebook (its test cells'
outputs decide the points, hidden tests and late penalties as nbgrader has them), so that formgrader,
``generate_feedback`` and ``export`` see it as nbgrader made it. Only the execution differs:
nbgrader's ``Execute`` starts a Jupyter kernel as the instructor, in the instructor's folders;
:class:`SandboxedExecute` runs the same cells in a ``cells`` worker of the kit's jail
(``tpdl.judge.cells``), over a staged copy of the notebook's folder, with the workers' limits, and
writes back what a kernel would have sent. :func:`grade_class` is ``tpdl grade`` for such an
assignment: nbgrader's autograde, then the kit's table, CSV and report from the gradebook.
"""

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient.exceptions import CellTimeoutError
from nbgrader.api import MissingEntry
from nbgrader.preprocessors import Execute

from tpdl.classroom import gradebook, outcomes, report
from tpdl.core import i18n, paths, safe
from tpdl.core.files import write_atomically
from tpdl.judge import intake, protocol, sandbox

_ = i18n.KIT  # what the students are told
PRELOAD = ("IPython",)  # what the jail of a plain notebook imports once (no TensorFlow)
INTERRUPT_GRACE_S = 5.0  # after a cell's interrupt, for its answer (a kernel's output is awaited as long)
DEAD = "DeadKernelError"  # nbclient's name for a kernel that died
LOG = "autograde.log"  # nbgrader's log of `tpdl grade`'s run, beside the class CSV
# Never kept of what a notebook wrote: the files the kit and nbgrader keep beside a graded notebook.
NOT_KEPT = frozenset({*gradebook.SUBMISSION_FILES, outcomes.RESULTS, outcomes.PROFILE, "grading.log"})


def is_plain(assignment: str) -> bool:
    """Whether ``assignment`` is one of the course's plain nbgrader assignments (no graders of the kit's)."""
    return assignment in paths.course_assignments() and not paths.graders(assignment).is_dir()


def _stopped(reason: str) -> str:
    return _(
        "This cell did not finish: your notebook's process {reason}. The cells after it were not run.",
        reason=reason,
    )


def _notebook_output(output) -> nbformat.NotebookNode:
    """A worker's output (``tpdl.judge.protocol.CellOutput``) as nbformat's."""
    fields = protocol.plain(output)
    if fields["output_type"] != "execute_result":
        fields.pop("execution_count", None)
    return nbformat.v4.new_output(**fields)


class SandboxedExecute(Execute):
    """nbgrader's ``Execute``, the notebook run in the kit's sandbox instead of a Jupyter kernel.

    Each notebook gets a jail of its own and one ``cells`` worker over a staged copy of its folder
    (``autograded/<student>/<assignment>/``): its code cells run there one after the other in one
    namespace, and their outputs come back as a kernel's would. nbgrader's settings keep their
    meaning: ``timeout`` per cell (None: ``sandbox.Limits.notebook_s``), ``interrupt_on_timeout``
    (``SIGINT``, then the next cells; else the notebook fails), ``error_on_timeout``,
    ``skip_cells_with_tag``, ``enabled`` (``--no-execute``), the kernel named by the notebook (a
    Python kernel that exists, or the notebook fails as nbgrader's would). A worker that stops (a
    crash, a limit, an interrupt it ignored) gives its cell and every later one an error output.
    The new regular files the notebook wrote in its folder are copied beside it (no link, bounded),
    as a kernel working there would have left them.
    """

    def preprocess(self, nb, resources=None, km=None):
        self._check_kernel(nb)
        folder = Path(resources["metadata"]["path"]).resolve()
        limits = sandbox.Limits()
        with (
            tempfile.TemporaryDirectory(prefix="tpdl-plain-") as scratch,
            sandbox.Zygote(limits, PRELOAD) as jail,
        ):
            staged = self._stage(folder, Path(scratch) / "staged", limits)
            # The notebook as nbgrader restored it holds the hidden tests: not for the student's code.
            notebook = resources.get("nbgrader", {}).get("notebook")
            if notebook:
                (staged.folder / f"{notebook}.ipynb").unlink(missing_ok=True)
            worker = jail.spawn("cells", staged.folder)
            try:
                if worker.gone:
                    raise sandbox.SandboxUnavailable(f"the notebook's worker did not start: it {worker.gone}")
                self.log.info("Running %s/%s in the kit's sandbox", folder.parent.name, folder.name)
                self._run_cells(nb, worker, limits)
                worker.kill("the notebook has run")
                if worker.group is not None:
                    worker.group.kill()  # whatever it left running: its folder no longer changes
                self._keep_written(
                    jail.spool / worker.token / "work", folder, Path(scratch) / "written", limits
                )
            finally:
                jail.discard(worker)
        return nb, resources

    def _check_kernel(self, nb) -> None:
        """Refuse a notebook whose kernel does not exist, or is not Python's (the sandbox runs Python)."""
        from jupyter_client.kernelspec import NATIVE_KERNEL_NAME, KernelSpecManager

        name = self.kernel_name or nb.metadata.get("kernelspec", {}).get("name") or NATIVE_KERNEL_NAME
        if name == "python":  # jupyter_client's alias of the native kernel
            name = NATIVE_KERNEL_NAME
        spec = KernelSpecManager().get_kernel_spec(name)  # NoSuchKernel, as starting the kernel would raise
        if spec.language.lower() != "python":
            raise ValueError(
                f"the kit's sandbox runs Python notebooks only; kernel {name!r} runs {spec.language}"
            )

    def _stage(self, folder: Path, target: Path, limits: sandbox.Limits) -> intake.Staged:
        """The notebook's folder as the worker gets it (the intake's copy: no link, bounded)."""
        fd = intake.open_folder(None, folder)
        try:
            staged = intake.stage(fd, target, limits.intake)
        finally:
            os.close(fd)
        if staged.refused:
            raise ValueError(f"{folder} is not run: {staged.refused}")
        for path, why in staged.dropped:
            self.log.warning("Left out of the sandbox's copy of %s: %s (%s)", folder, path, why)
        return staged

    def _run_cells(self, nb, worker: sandbox.Worker, limits: sandbox.Limits) -> None:
        stopped = None  # why the worker stopped, once it has
        for index, cell in enumerate(nb.cells):
            if (
                cell.cell_type != "code"
                or not cell.source.strip()
                or self.skip_cells_with_tag in cell.metadata.get("tags", [])
            ):
                continue
            if stopped is not None:
                not_run = _("Not run: your notebook's process stopped in an earlier cell.")
                cell.outputs = [
                    nbformat.v4.new_output("error", ename=DEAD, evalue=not_run, traceback=[not_run])
                ]
                continue
            timeout = self._get_timeout(cell) or limits.notebook_s
            request = protocol.RunCell(source=cell.source, forget=_is_test(cell))
            started = time.monotonic()
            try:
                if self.interrupt_on_timeout:
                    run = worker.ask(request, timeout + INTERRUPT_GRACE_S, timeout)
                else:
                    run = worker.ask(request, timeout)
            except sandbox.WorkerGone as gone:
                if time.monotonic() - started >= timeout and not self.interrupt_on_timeout:
                    raise CellTimeoutError.error_from_timeout_and_cell(
                        "Cell execution timed out", timeout, cell
                    ) from None
                stopped, message = gone.reason, _stopped(gone.reason)
                shown = protocol.ErrorOutput(
                    output_type="error", ename=DEAD, evalue=message, traceback=[message]
                )
                run = protocol.CellRun(
                    outputs=[shown], execution_count=0, status="error", ename=DEAD, evalue=message
                )
            except sandbox.WorkerError as error:  # the interrupt came between two steps of the worker's own
                ename, _colon, evalue = error.message.partition(": ")
                run = protocol.CellRun(
                    outputs=[], execution_count=0, status="error", ename=ename, evalue=evalue
                )
            cell.outputs = [_notebook_output(output) for output in run.outputs]
            if run.execution_count:
                cell.execution_count = run.execution_count
            reply = {
                "status": run.status,
                "ename": run.ename,
                "evalue": run.evalue,
                "traceback": list(run.traceback),
            }
            if time.monotonic() - started >= timeout:
                self.log.error("Timeout waiting for execute reply (%is).", timeout)
                if self.error_on_timeout:
                    reply = {**self.error_on_timeout, "status": "error"}
            self.on_cell_executed(cell=cell, cell_index=index, execute_reply={"content": reply})

    def _keep_written(self, work: Path, folder: Path, target: Path, limits: sandbox.Limits) -> None:
        """Copy the regular files the notebook added to its folder (not those it was given or
        changed, nor what nbgrader's ``CourseDirectory.ignore`` names) beside the graded notebook."""
        import fnmatch

        coursedir = getattr(getattr(self.parent, "parent", None), "coursedir", None)
        ignore = list(getattr(coursedir, "ignore", []))

        def left_out(entry: intake.Listed) -> str | None:
            if any(fnmatch.fnmatch(entry.name, pattern) for pattern in ignore):
                return "excluded by CourseDirectory.ignore"
            if entry.path in NOT_KEPT:
                return "a file of the grading's own"
            if not entry.is_dir and entry.name.endswith(".ipynb"):
                return "a notebook (nbgrader would take it for one of the assignment's)"
            if not entry.is_dir and os.path.lexists(folder / entry.path):
                return "the graded folder already holds it"
            return None

        rules = intake.Rules(
            depth=limits.intake.depth,
            entries=limits.intake.files,
            total_bytes=limits.intake.total_bytes,
            file_bytes=limits.intake.file_bytes,
            left_out=left_out,
            mode=lambda _mode, is_dir: 0o755 if is_dir else 0o644,
        )
        fd = intake.open_folder(None, work)
        try:
            written = intake.copy_tree(fd, target, rules)
        finally:
            os.close(fd)
        if written.refused:
            self.log.warning("What the notebook wrote in %s is not kept: %s", folder, written.refused)
            return
        for relative, _size, _digest in written.entries:
            destination = folder / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            inside = Path(os.path.realpath(destination.parent)).is_relative_to(folder)  # no link on the way
            if inside and not os.path.lexists(destination):
                shutil.move(target / relative, destination)


# --------------------------------------------------------------------------- tpdl grade


def _is_test(cell) -> bool:
    """Whether ``cell`` is one of nbgrader's autograder tests (its hidden tests restored)."""
    meta = cell.metadata.get("nbgrader", {})
    return bool(meta.get("grade")) and not meta.get("solution")


def grade_class(
    assignment: str,
    students: list[str] | None = None,
    force: bool = False,
    json_path: Path | None = None,
    html_path: Path | None = None,
    submissions: Path | None = None,
    jobs: int = 1,
    cluster: str | None = None,
    profile: bool = False,
) -> outcomes.ClassResult:
    """``tpdl grade`` of a plain assignment: ``nbgrader autograde`` (its notebooks run in the kit's
    sandbox), then the class's table, CSV and report, from the gradebook nbgrader wrote."""
    if submissions is not None and Path(submissions).resolve() != paths.submitted().resolve():
        raise outcomes.UsageError(
            f"{assignment} is a plain nbgrader assignment: nbgrader grades it from submitted/ only"
        )
    if jobs != 1 or cluster or profile:
        raise outcomes.UsageError(
            f"{assignment} is a plain nbgrader assignment: nbgrader autogrades it one "
            "submission after the other (no --jobs, --cluster or --profile)"
        )
    folder = paths.reports() / assignment
    folder.mkdir(parents=True, exist_ok=True)
    found = (
        intake.discover(assignment, paths.submitted(), students)
        if paths.submitted().is_dir()
        else intake.Found()
    )
    before = {student: _graded_at(student, assignment) for student in found.folders}
    command = [sys.executable, "-m", "nbgrader", "autograde", assignment, *(["--force"] if force else [])]
    runs = (
        [[*command, f"--student={s}"] for s, f in found.folders.items() if f is not None]
        if students
        else [command]
    )
    failed = 0
    with open(folder / LOG, "w", encoding="utf-8") as log:
        for run in runs:
            done = subprocess.run(
                run,
                cwd=paths.course_dir(),
                stdout=log,
                stderr=subprocess.STDOUT,
                check=False,
                env={**os.environ, "TPDL_COURSE_DIR": str(paths.course_dir())},
            )
            failed += done.returncode != 0
    # nbgrader sets the late penalty only when it grades; a due date set or moved since must count too.
    penalties = gradebook.late_penalties()
    for student, submitted in found.folders.items():
        if submitted is not None:
            with contextlib.suppress(MissingEntry):
                gradebook.assign_late_penalty(penalties, assignment, student)
    outcome = outcomes.ClassResult(assignment, refused=dict(found.refused))
    _read_gradebook(outcome, found, before, folder / LOG)
    _write_reports(outcome, folder, json_path, html_path)
    if failed:
        report.console.print(
            f"note: nbgrader autograde reported errors; its log: {folder / LOG}",
            style="yellow",
            markup=False,
            highlight=False,
        )
    return outcome


def _graded_at(student: str, assignment: str) -> float | None:
    """When the student's graded notebooks last changed (None if there is none)."""
    times = [p.stat().st_mtime for p in (paths.autograded() / student / assignment).glob("*.ipynb")]
    return max(times) if times else None


def _cell_order(assignment: str) -> dict[tuple[str, str], int]:
    """``(notebook, grade cell) -> position`` in the assignment's source notebooks."""
    order: dict[tuple[str, str], int] = {}
    for path in sorted(paths.source(assignment).glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if grade_id and cell.metadata["nbgrader"].get("grade"):
                order.setdefault((path.stem, grade_id), len(order))
    return order


def _result(submission, order: dict[tuple[str, str], int]) -> dict:
    """A student's result as the kit's reports read it: one check per grade cell, from the gradebook."""
    several = len(submission.notebooks) > 1
    cells = sorted(
        ((n.name, g) for n in submission.notebooks for g in n.grades),
        key=lambda pair: order.get((pair[0], pair[1].name), len(order)),
    )
    checks = []
    for notebook, grade in cells:
        waiting = grade.needs_manual_grade and grade.manual_score is None
        points = float(grade.score or 0.0)
        checks.append(
            {
                "name": f"{notebook}:{grade.name}" if several else grade.name,
                "cell": grade.name,
                "points": 0.0 if waiting else points,
                "max_points": float(grade.max_score),
                "counted": not waiting,
                "passed": not waiting and points >= grade.max_score,
                "message": "",
            }
        )
    return {
        "student": submission.student.id,
        "assignment": submission.assignment.name,
        "score": sum(c["points"] for c in checks),
        "max_score": sum(c["max_points"] for c in checks),
        "checks": checks,
    }


def _read_gradebook(outcome: outcomes.ClassResult, found: intake.Found, before: dict, log: Path) -> None:
    import warnings

    from nbgrader.api import Gradebook, MissingEntry

    assignment = outcome.assignment
    order = _cell_order(assignment)
    with warnings.catch_warnings(), Gradebook(paths.gradebook_url()) as book:
        warnings.simplefilter("ignore")  # nbgrader's own SQLAlchemy warnings
        for student, folder in found.folders.items():
            empty = {
                "student": student,
                "assignment": assignment,
                "score": 0.0,
                "max_score": 0.0,
                "checks": [],
            }
            graded = _graded_at(student, assignment)
            try:
                submission = book.find_submission(assignment, student) if folder is not None else None
            except MissingEntry:
                submission = None
            if folder is None:
                outcome.students[student] = {**empty, "missing": _("no submission found")}
            elif submission is None or graded is None:
                outcome.students[student] = {
                    **empty,
                    "refused": f"nbgrader's autograde failed on it (see {log})",
                }
            else:
                outcome.students[student] = _result(submission, order)
                outcome.totals[student] = gradebook.read_totals(book, assignment, student)
                if graded != before.get(student):
                    outcome.graded_now.append(student)


def _write_reports(
    outcome: outcomes.ClassResult, folder: Path, json_path: Path | None, html_path: Path | None
):
    """The class's CSV, HTML report, optional JSON and table (the feedback is nbgrader's)."""
    write_atomically(folder / "grades.csv", report.class_csv(outcome))
    page = report.class_html(outcome)
    write_atomically(folder / "report.html", page)
    if html_path:
        Path(html_path).write_text(page, encoding="utf-8")
    if json_path:
        Path(json_path).write_text(json.dumps(outcome.to_json(), indent=2), encoding="utf-8")
    report.print_table(outcome)
    for line in (
        f"class CSV: {folder / 'grades.csv'}",
        f"report:    {html_path or folder / 'report.html'}",
        f"feedback:  nbgrader generate_feedback --force {safe.for_terminal(outcome.assignment, 64)} "
        "(nbgrader's page; --force rewrites pages made before a hand grade)",
    ):
        report.console.print(line, markup=False, highlight=False)
