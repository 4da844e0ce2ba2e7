"""Additions to nbgrader, named in ``nbgrader_config.py``: nbgrader's own commands, and formgrader's
buttons, release, collect, grade and give feedback the kit's way.

* :class:`ReduceTracebacks`: feedback without the hidden tests that a traceback would quote.
* :class:`KitRelease` (``nbgrader generate_assignment`` and formgrader's *Generate* button): the
  release is built the kit's way (:func:`tpdl.authoring.notebooks.finish_release`: stubs in every template,
  ``handin.json``, the leak finder), or not at all.
* :class:`GuardedRelease` (``nbgrader release_assignment`` and formgrader's *Release* button): the
  leak finder runs on the release first; a release holding solution material, or a link, is refused.
* :class:`SafeCollect` (``nbgrader collect``): copies what students handed in through file
  descriptors (the intake's walk), without following a link or reading a pipe or a device, keeps
  every deliverable (tracking stores included), dates each submission by the last change the
  exchange saw in it, and puts it in place only once it is wholly copied and dated.
* :class:`SandboxedAutograde` (``nbgrader autograde`` and formgrader's autograde button): the
  submission is graded by the kit's judge in its sandbox, never executed in the instructor's process;
  a plain nbgrader assignment is graded by nbgrader's own preprocessors, its cells run in the sandbox
  (``tpdl.classroom.plain``).
* :class:`KitFeedback` (``nbgrader generate_feedback``): the student's feedback page is the kit's,
  with each check's message, the hand-graded points and the total.
* :class:`PenaltyPerHour`: the late penalty, so many points per started hour late (or nbgrader's
  ``penalty_method``).
"""

import collections
import contextlib
import datetime
import fnmatch
import glob
import logging
import math
import os
import secrets
import shutil
import stat
import weakref
from pathlib import Path

from nbconvert.exporters import HTMLExporter, NotebookExporter
from nbgrader.exchange.default.collect import ExchangeCollect
from nbgrader.exchange.default.release_assignment import ExchangeReleaseAssignment
from nbgrader.plugins import LateSubmissionPlugin
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Enum, Float, TraitError


class ReduceTracebacks(NbGraderPreprocessor):
    """Shorten every error output to ``ename: evalue``, so feedback shows no hidden test code."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.enabled = True  # nbconvert skips a preprocessor that is not enabled

    def preprocess_cell(self, cell, resources, cell_index):
        if cell.cell_type == "code":
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    output["traceback"] = [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"]
        return cell, resources


def _not_plain(folder: str, most: int = 5000) -> str | None:
    """The first entry under ``folder`` that is neither a regular file nor a folder (a link, a pipe,
    a device), as a relative path; None if there is none. A folder holding more than ``most``
    entries is not looked through: it is named as a whole."""
    stack, seen = [folder], 0
    while stack:
        current = stack.pop()
        for entry in os.scandir(current):
            seen += 1
            if seen > most:
                return f"more than {most} entries (not looked through)"
            mode = entry.stat(follow_symlinks=False).st_mode
            if stat.S_ISDIR(mode):
                stack.append(entry.path)
            elif not stat.S_ISREG(mode):
                return os.path.relpath(entry.path, folder)
    return None


class KitRelease(NotebookExporter):
    """The exporter of ``nbgrader generate_assignment`` (and of formgrader's *Generate* button,
    which calls the same converter): nbgrader makes the release, the kit ends it.

    For a TP of the kit, the notebook is first rebuilt from its text source. Once the last notebook
    of the assignment is converted, :func:`tpdl.authoring.notebooks.finish_release` removes what a run of the
    notebook left (models, tracking stores, the TP's figures), turns the solution regions of every
    template into stubs (for a plain nbgrader assignment too; a template that is not UTF-8 is
    refused), writes the kit's files (``handin.json``, the release's ``nbgrader_config.py``) and runs
    the leak finder. Any failure fails the conversion: nbgrader then removes the whole release
    folder and reports an error, so no release holding solution material is left for *Release* to
    hand out.
    """

    def from_filename(self, filename, resources=None, **kw):
        from tpdl.authoring import notebooks

        info = resources["nbgrader"]
        converter = self.parent
        with _course(converter.coursedir.root):
            assignment = info["assignment"]
            if notebooks.is_kit_assignment(assignment) and info["notebook"] == assignment:
                notebooks.build_source_notebook(assignment)
            output, resources = super().from_filename(filename, resources, **kw)
            if filename == converter.notebooks[-1]:  # every other file of the release is in place
                converter.write_single_notebook(output, resources)  # nbgrader writes the same bytes again
                try:
                    removed = notebooks.finish_release(assignment)
                except notebooks.ReleaseError as error:
                    self.log.error("%s", error)
                    raise
                for path in removed:
                    self.log.warning("Left out of the release: %s (what a run of the notebook writes)", path)
        return output, resources


class GuardedRelease(ExchangeReleaseAssignment):
    """``nbgrader release_assignment`` (and formgrader's *Release* button): before anything reaches
    the exchange, the release folder is checked: no link, pipe or device in it (nbgrader's copy
    would follow a link), and nothing the leak finder finds (solution material, a compressed
    archive, what a run of the notebook writes). A release failing either is refused and the
    exchange is left as it was."""

    def copy_files(self):
        from tpdl.authoring import notebooks

        assignment = self.coursedir.assignment_id
        with _course(self.coursedir.root):
            odd = _not_plain(self.src_path)
            if odd is not None:
                self.fail(
                    f"Not releasing {assignment}: its release folder holds {odd}; a release holds regular "
                    f"files and folders only (nbgrader's copy follows links). Rebuild it with "
                    f"`{notebooks.rebuild_command(assignment)}`."
                )
            leaks = notebooks.find_leaks(assignment, Path(self.src_path))
            if leaks:
                self.fail(str(notebooks.LeakError(assignment, leaks)))
        super().copy_files()


class NotCollected(Exception):
    """A submission that is not collected; the message says why (for the instructor's log)."""


# A submission that `nbgrader collect` copies: at most so many folders deep (one descriptor held per
# level) and so many files and folders (the judge grades up to `IntakeLimits.files`; it tells the
# student what it refuses). Its bytes are bounded by nbgrader's `CourseDirectory.max_dir_size`.
COLLECT_DEPTH = 32
COLLECT_ENTRIES = 20_000
# Why an entry is left out of a collected copy, quietly (nbgrader logs these at debug level).
DATED = "the exchange dates the submission: its own timestamp.txt is not collected"
EXCLUDED = "excluded by CourseDirectory.ignore"
NOT_INCLUDED = "not included by CourseDirectory.include"


class SafeCollect(ExchangeCollect):
    """``nbgrader collect`` for an exchange whose inbound folder every student can write to.

    * Only folders are collected: an entry that is a link (to a folder of the instructor's) or a
      plain file is left in the exchange, as is one whose name holds no valid student id or date.
    * Where students have accounts of their own, a folder owned by another student than the one
      its name gives is left too (nbgrader's ``check_owner`` only warns), and never takes the place
      of the student's own submission: nbgrader's choice of each student's latest (or latest on
      time) submission is made among the folders that may be collected.
    * A submission is copied by the intake's walk (:func:`tpdl.judge.intake.copy_tree`): every folder
      and file opened relative to its folder's descriptor with ``O_NOFOLLOW``, a file copied only
      if it is a regular file once open, so no link is followed (not even a folder swapped for a
      link while the copy runs) and no pipe or device read. nbgrader's ``CourseDirectory.ignore``,
      ``include`` and ``max_file_size`` leave entries out as nbgrader's copy does;
      ``max_dir_size`` bounds the bytes copied.
    * The copy is made in a hidden folder beside ``submitted/<student>/<assignment>``, dated, and
      only then renamed into place: a copy that fails part-way leaves nothing in ``submitted/``
      (the log says why), and the next ``nbgrader collect`` collects the submission afresh.
    * The collected ``timestamp.txt`` is the last time anything copied changed, as the exchange saw
      it (the latest inode change time, each read once its copy is made): a file rewritten in
      place, in any subfolder, after the due date makes the submission late; the student's own
      ``timestamp.txt`` and file times count for nothing.
    * A submission that cannot be collected is an error in the log; the others are collected.
    """

    def _path_to_record(self, path):
        try:
            return super()._path_to_record(path)
        except Exception:  # noqa: BLE001 - the name is the student's: any text at all
            return {"username": "", "filename": os.path.basename(path), "timestamp": datetime.datetime.min}

    def init_src(self):
        """nbgrader's choice of one submission per student, made among the submissions that may be
        collected only: a folder handed in by someone else in a student's name, however recent, never
        takes the place of the student's own."""
        from tpdl.judge import intake

        super().init_src()  # the inbound folder and the due date; nbgrader's own choice is made again below
        pattern = os.path.join(
            self.inbound_path, f"{self.coursedir.student_id or '*'}+{self.coursedir.assignment_id}+*"
        )
        by_student = collections.defaultdict(list)
        for path in glob.glob(pattern):
            record = self._path_to_record(path)
            why = self._refusal(record)
            if why:
                self.log.error("Not collecting %s: %s", intake.shown(record["filename"]), why)
            else:
                by_student[record["username"]].append(record)
        self.src_records = [self._choice(records) for records in by_student.values()]

    def _refusal(self, record: dict) -> str | None:
        """Why the submission ``record`` names is not collected, or None."""
        from tpdl.judge import intake

        why = intake.check_student_id(record["username"]) if record["username"] else "no date in its name"
        info = os.lstat(os.path.join(self.inbound_path, record["filename"]))
        if not why and not stat.S_ISDIR(info.st_mode):
            why = "it is not a folder (a link or a file)"
        if not why and self._owned_by_another_student(info.st_uid, record["username"]):
            why = "it belongs to another user than the student its name gives"
        return why

    def _choice(self, records: list[dict]) -> dict:
        """nbgrader's rule: a student's latest submission; with ``before_duedate``, their latest on time
        where there is one."""
        newest_first = self._sort_by_timestamp(records)
        if self.before_duedate and self.duedate is not None:
            on_time = [record for record in newest_first if record["timestamp"] <= self.duedate]
            if on_time:
                return on_time[0]
        return newest_first[0]

    @staticmethod
    def _owned_by_another_student(uid: int, student: str) -> bool:
        import pwd

        if uid == os.geteuid():  # the instructor's own (a single-user course): nothing to compare
            return False
        try:
            return pwd.getpwuid(uid).pw_name != student
        except KeyError:
            return True

    def copy_files(self):
        from tpdl.judge import intake

        records = self.src_records
        try:
            for record in records:
                self.src_records = [record]
                try:
                    super().copy_files()
                except NotCollected as error:
                    self.log.error("Not collecting %s: %s", intake.shown(record["filename"]), error)
                except Exception as error:  # noqa: BLE001 - this student's submission only
                    self.log.error(
                        "Not collecting %s: %s: %s",
                        intake.shown(record["filename"]),
                        type(error).__name__,
                        error,
                    )
        finally:
            self.src_records = records

    def do_copy(self, src, dest, log=None):
        """Copy the submission ``src`` into ``dest`` (which does not exist), dated; or leave nothing."""
        from tpdl.judge import intake

        inbound, name = os.path.split(src)
        student = self._path_to_record(src)["username"]
        inbound_fd = os.open(inbound, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            source_fd = intake.open_folder(inbound_fd, name)
        except OSError as error:
            raise NotCollected(
                f"it is no longer a folder ({error.strerror or type(error).__name__})"
            ) from error
        finally:
            os.close(inbound_fd)
        parent = os.path.dirname(dest)
        partial = Path(parent) / f".{os.path.basename(dest)}.collecting-{secrets.token_hex(6)}"
        try:
            if self._owned_by_another_student(os.fstat(source_fd).st_uid, student):  # swapped since listed
                raise NotCollected("it belongs to another user than the student its name gives")
            copied = intake.copy_tree(source_fd, partial, self._rules())
        finally:
            os.close(source_fd)
        for path, why in copied.dropped:
            level = logging.DEBUG if why in (DATED, EXCLUDED, NOT_INCLUDED) else logging.WARNING
            self.log.log(level, "Leaving out %s of %s: %s", path, intake.shown(name), why)
        try:
            if copied.refused:
                raise NotCollected(copied.refused)
            self._date(partial, copied.changed)
            os.rename(partial, dest)
        except BaseException:  # nothing of a submission that is not wholly collected and dated stays
            shutil.rmtree(partial, ignore_errors=True)
            with contextlib.suppress(OSError):
                os.rmdir(parent)  # the student's folder, if nbgrader has just made it for this copy
            raise

    def _rules(self):
        """nbgrader's rules for what a copy takes, kept by the intake's walk."""
        from tpdl.judge import intake

        directory = self.coursedir

        def left_out(entry: intake.Listed) -> str | None:
            if entry.path == "timestamp.txt":
                return DATED
            if any(fnmatch.fnmatch(entry.name, pattern) for pattern in directory.ignore):
                return EXCLUDED
            if not entry.is_dir and directory.include:
                if not any(fnmatch.fnmatch(entry.name, pattern) for pattern in directory.include):
                    return NOT_INCLUDED
            return None

        return intake.Rules(
            depth=COLLECT_DEPTH,
            entries=COLLECT_ENTRIES,
            total_bytes=1000 * directory.max_dir_size,
            file_bytes=1000 * directory.max_file_size,
            left_out=left_out,
            mode=self._mode,
        )

    def _mode(self, mode: int, is_dir: bool) -> int:
        """The source's permissions, as nbgrader's copy keeps them, without set-id or sticky bits;
        always the instructor's to read and write (and the group's, in a groupshared course)."""
        kept = (stat.S_IMODE(mode) & 0o777) | (0o700 if is_dir else 0o600)
        if self.coursedir.groupshared:
            kept |= 0o2770 if is_dir else 0o660
        return kept

    def _date(self, copy: Path, changed: float) -> None:
        """Write ``changed``, the last change the exchange saw in what was copied, as the copy's
        ``timestamp.txt`` (the student's own was left out)."""
        received = datetime.datetime.fromtimestamp(changed, datetime.UTC)
        with open(copy / "timestamp.txt", "x") as handle:
            handle.write(received.strftime("%Y-%m-%d %H:%M:%S.%f %Z"))
        os.chmod(copy / "timestamp.txt", self._mode(0o644, False))


@contextlib.contextmanager
def _course(root: str):
    """The kit's paths resolved in the course that nbgrader was started in."""
    previous = os.environ.get("TPDL_COURSE_DIR")
    os.environ["TPDL_COURSE_DIR"] = os.path.abspath(root)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("TPDL_COURSE_DIR", None)
        else:
            os.environ["TPDL_COURSE_DIR"] = previous


class SandboxedAutograde(NotebookExporter):
    """The exporter of ``nbgrader autograde``: no student's code runs in this process, nor in a
    Jupyter kernel of the instructor's.

    nbgrader's autograde converts each submitted notebook twice (a sanitising pass from
    ``submitted/``, then an executing pass in ``autograded/``). For a TP of the kit, the first pass
    runs ``tpdl grade`` for that student, in the sandbox, and both passes return the graded
    notebook the judge wrote (no outputs, nothing active): the scores in the gradebook are the
    judge's. A plain nbgrader assignment (no ``graders/<name>/``) goes through nbgrader's own
    preprocessors and gradebook, except that nbgrader's ``Execute`` (any preprocessor that would
    start a kernel) is replaced by :class:`tpdl.classroom.plain.SandboxedExecute`, which runs the cells in
    the sandbox.
    """

    def __init__(self, *args, **kwargs):
        from tpdl.core import paths

        super().__init__(*args, **kwargs)
        self._runner = None  # the sandbox of this autograde run, for all its students (see _kept_runner)
        # nbgrader copies a submission's files (following links) before any exporter sees it: a
        # submission holding a link, a pipe or a device is not autograded (`tpdl grade` grades a TP's,
        # its intake leaving them out).
        submissions = getattr(self.parent, "assignments", None)
        for folder in list(submissions or {}):
            odd = _not_plain(folder)
            if odd is not None:
                with _course(self.parent.coursedir.root):
                    judged = paths.graders(os.path.basename(folder)).is_dir()
                after = "`tpdl grade` grades it, leaving that out" if judged else "remove it to autograde it"
                self.log.error(
                    "Not autograding %s: it holds %s, a link, a pipe or a device, which nbgrader would "
                    "follow while copying; %s",
                    folder,
                    odd,
                    after,
                )
                del submissions[folder]

    def register_preprocessor(self, preprocessor, enabled=False):
        """Register ``preprocessor``; one that would start a Jupyter kernel (nbgrader's ``Execute``)
        is replaced by the kit's :class:`tpdl.classroom.plain.SandboxedExecute`."""
        from nbconvert.preprocessors import ExecutePreprocessor
        from traitlets.utils.importstring import import_item

        from tpdl.classroom.plain import SandboxedExecute

        if isinstance(preprocessor, str):
            preprocessor = import_item(preprocessor)
        kind = preprocessor if isinstance(preprocessor, type) else type(preprocessor)
        if issubclass(kind, ExecutePreprocessor) and not issubclass(kind, SandboxedExecute):
            preprocessor = SandboxedExecute
        return super().register_preprocessor(preprocessor, enabled)

    def from_filename(self, filename, resources=None, **kw):
        from tpdl.classroom import gradebook
        from tpdl.classroom import run as classroom
        from tpdl.core import paths

        info = resources["nbgrader"]
        student, assignment, name = info["student"], info["assignment"], info["notebook"]
        root = self.parent.coursedir.root if self.parent is not None else os.getcwd()
        with _course(root):
            if not paths.graders(assignment).is_dir():  # a plain nbgrader assignment: nbgrader's way
                return super().from_filename(filename, resources, **kw)
            graded = paths.autograded() / student / assignment / f"{name}.ipynb"
            if os.path.realpath(filename).startswith(str(paths.submitted().resolve()) + os.sep):
                self.log.info("Grading %s's %s with the kit's judge, in its sandbox", student, assignment)
                outcome = classroom.grade_class(
                    assignment, students=[student], force=True, progress=False, runner=self._kept_runner()
                )
                result = outcome.students.get(student, {})
                most = gradebook.maximum(result, outcome.totals.get(student))
                self.log.info(
                    "%s: %s / %s, %s not counted (the kit's judge)",
                    student,
                    result.get("score"),
                    most.max_score,
                    most.not_counted,
                )
            text = graded.read_text(encoding="utf-8") if graded.is_file() else _empty_notebook()
        resources = resources or {}
        resources["output_extension"] = ".ipynb"
        return text, resources

    def _kept_runner(self):
        """One sandbox for every student this autograde run grades (each is a class run of its own):
        TensorFlow is imported once, not once per student. It stops with the exporter, or at exit."""
        if self._runner is None:
            from tpdl.classroom.runners import KeptRunner
            from tpdl.judge import sandbox

            self._runner = KeptRunner(sandbox.Limits())
            weakref.finalize(self, self._runner.release)
        return self._runner


def _empty_notebook() -> str:
    import nbformat

    note = "The submitted notebook could not be read; the grading log says why."
    return nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(note)]))


class KitFeedback(HTMLExporter):
    """The exporter of ``nbgrader generate_feedback``: the kit's feedback page (each check's name,
    points and message, the hand-graded points, the late penalty and the total) from the judge's
    ``results.json`` and the gradebook as it is now. A submission the judge has not graded gets
    nbgrader's own page."""

    @property
    def default_config(self):
        """nbconvert's HTML settings, with its order of preferred output types given to the one
        filter that reads it: set for every nbconvert class, it also reached nbgrader's
        preprocessors in the feedback's chain, which do not take it ("Config option
        `display_data_priority` not recognized by `ClearHiddenTests`" on every run)."""
        config = super().default_config
        priority = config.NbConvertBase.pop("display_data_priority", None)
        if priority is not None:
            config.WidgetsDataTypeFilter.display_data_priority = priority
        return config

    def from_notebook_node(self, nb, resources=None, **kw):
        import json

        from tpdl.classroom import gradebook, report
        from tpdl.core import paths

        info = (resources or {}).get("nbgrader", {})
        root = self.parent.coursedir.root if self.parent is not None else os.getcwd()
        with _course(root):
            saved = paths.autograded() / info.get("student", "") / info.get("assignment", "") / "results.json"
            try:
                result = json.loads(saved.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                return super().from_notebook_node(nb, resources, **kw)
            totals = gradebook.current_totals(result["assignment"], result["student"])
            page = report.feedback_html(result, totals)
        resources["output_extension"] = ".html"
        return page, resources


class PenaltyPerHour(LateSubmissionPlugin):
    """The late penalty by nbgrader's ``LateSubmissionPlugin.penalty_method``: the kit's
    ``'per_hour'`` takes ``points_per_hour`` points off for each started hour after the due date,
    nbgrader's ``'zero'`` the whole score and ``'none'`` nothing (nbgrader caps a penalty at the
    notebook's score). Any other method is refused when the plugin is made, never ignored."""

    penalty_method = Enum(
        ("per_hour", "none", "zero"),
        default_value="per_hour",
        help="'per_hour': points_per_hour points off per started hour late; 'zero': the whole score; 'none'.",
    ).tag(config=True)
    points_per_hour = Float(1.0, help="Points taken off per started hour late.").tag(config=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        if "penalty_method" in self.config.get("AssignLatePenalties", {}):
            raise TraitError(
                "nbgrader has no AssignLatePenalties.penalty_method: set LateSubmissionPlugin.penalty_method "
                "('per_hour', 'zero' or 'none') in nbgrader_config.py"
            )

    def late_submission_penalty(self, student_id, score, total_seconds_late):
        if self.penalty_method != "per_hour":
            return super().late_submission_penalty(student_id, score, total_seconds_late)
        if total_seconds_late <= 0:
            return None
        return math.ceil(total_seconds_late / 3600) * self.points_per_hour
