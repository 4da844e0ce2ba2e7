"""``tpdl check ASSIGNMENT [FOLDER]``: a pre-flight check of a hand-in, in under a minute.

It lists the deliverables the TP expects and which are missing; loads each saved model safely
(``safe_mode``: no code of the file runs) and says its size, how it was trained (the record its
training cell leaves beside it, ``tpdl.course.costs``), and a quick local estimate against the threshold
the notebook states, on the kit's small data sets. It runs outside the notebook's kernel and
decides nothing: the hidden graders measure again, on data no one has seen.

A student runs it on their own folder; an instructor may run it on anyone's. So the folder is read
as the judge reads a submission, and nothing in it is trusted:

* **what is expected** (deliverables, models, thresholds) is the release's ``handin.json``, made
  from the TP's manifest. Where this machine holds the course (its ``graders/<tp>/manifest.toml``
  or its ``release/<tp>/handin.json``), that is what is expected, and a ``handin.json`` in the
  folder is ignored (the output says so when it differs). Only where there is no course here (a
  student's copy of the release) is the folder's own ``handin.json`` read, and the output says so;
* **the folder** is staged by the grading intake (``tpdl.judge.intake``): opened without following a
  link, regular files only, the judge's limits. A deliverable that is a link is missing, as it
  would be at grading, and the output says why; every path named is a plain path inside the folder;
* **models** are loaded in the sandbox (``tpdl.judge.sandbox``: the judge's ``models`` worker) wherever
  bubblewrap runs. Without it a model is loaded in this process (with ``safe_mode``, as the
  student's own notebook loads it) only when the folder is the caller's own: not as root, not a
  folder owned by someone else, not a submission of the course; otherwise models are not loaded;
* **the notebook** is run as the judge runs it (``tpdl.judge.judge_state``: its cells tagged
  ``skip-grading`` skipped), in the sandbox's notebook worker, under the same rule as models: without
  the sandbox, only the caller's own folder is run, in a separate process;
* **everything printed** goes through the terminal escaper (``tpdl.core.safe``) as Rich ``Text``.
"""

import contextlib
import json
import math
import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tpdl.core import i18n, manifest, paths, safe
from tpdl.core.i18n import KIT as _
from tpdl.course import costs
from tpdl.grading.student import StudentCodeError, Submission
from tpdl.judge import intake, judge_state, protocol, sandbox

HANDIN = "handin.json"
HANDIN_BYTES = 64 * 1024  # the largest handin.json read from a folder
ESTIMATE_SIZE = {"phantoms": 48, "volumes": 160}  # fresh samples drawn for a quick estimate
# what each kind of model is estimated on, and the threshold it is held to
THRESHOLD_OF = {
    "mnist": "course_accuracy",
    "cifar10": "course_accuracy",
    "phantoms": "unet_dice",
    "volumes": "conv3d_accuracy",
}
ASSIGNMENT = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
PRELOAD = ("numpy", "tensorflow", "keras")  # all the models worker needs
LINE_CHARS = 400  # of one printed line


class Handin(BaseModel):
    """What ``tpdl check`` is told of a TP (``handin.json``): every path a plain one inside the folder."""

    model_config = ConfigDict(extra="forbid")
    assignment: str
    deliverables: list[protocol.RelativePath] = Field(max_length=200)
    thresholds: dict[str, float] = Field(max_length=50)
    models: dict[protocol.RelativePath, Literal["mnist", "cifar10", "phantoms", "volumes", "load"]] = Field(
        max_length=50
    )
    language: Literal["en", "fr"] = "en"  # the edition's (paths.LANGUAGES): what the kit speaks in its folder


def handin(assignment: str) -> dict:
    """What the release tells ``tpdl check`` about ``assignment`` (from its manifest; a TP without
    one yet expects its notebook only)."""
    try:
        stated = manifest.load(assignment)
    except FileNotFoundError:
        return {
            "assignment": assignment,
            "deliverables": [f"{assignment}.ipynb"],
            "thresholds": {},
            "models": {},
            "language": paths.language_of(assignment),
        }
    return {
        "assignment": assignment,
        "deliverables": list(stated.deliverables),
        "thresholds": {name: stated.thresholds[name] for name in stated.public_thresholds},
        "models": dict(stated.models or {}),
        "language": paths.language_of(assignment),
    }


class Refused(Exception):
    """The check cannot run; the message says why, for whoever runs it."""


def _unknown(assignment: str) -> Refused:
    return Refused(
        _(
            "nothing is known of {assignment} here: run tpdl check in the folder of its release",
            assignment=repr(assignment),
        )
    )


@dataclass
class Finding:
    name: str
    ok: bool
    lines: list[str] = field(default_factory=list)


@dataclass
class Report:
    """What ``tpdl check`` found: where the expectations came from, a finding per deliverable or model."""

    notes: list[str] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)


def _readable(path: Path) -> bool:
    try:
        return path.is_file()
    except OSError:  # a course folder this user may not read (graders/ on a shared machine)
        return False


def _course_handin(assignment: str) -> Handin | None:
    """What the course on this machine expects of ``assignment``, or None where this machine holds
    no course for it (a student's copy of the release)."""
    if _readable(paths.graders(assignment) / manifest.FILE) or _readable(
        paths.source(assignment) / f"{assignment}.nb.py"
    ):
        try:
            return Handin.model_validate(handin(assignment))
        except ValueError as error:
            raise Refused(
                _("the course's {file} cannot be read: {error}", file=manifest.FILE, error=error)
            ) from None
    published = paths.release(assignment) / HANDIN
    if _readable(published):
        try:
            return Handin.model_validate_json(published.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise Refused(
                _("the course's {file} cannot be read: {error}", file=str(published), error=error)
            ) from None
    return None


def _folder_handin(staged: intake.Staged) -> tuple[dict | None, str]:
    """The folder's own ``handin.json`` as data (None if it has none) and, if it is not one, why."""
    path = staged.folder / HANDIN
    if not path.is_file() or path.stat().st_size > HANDIN_BYTES:
        return None, ""
    try:
        return json.loads(path.read_text(encoding="utf-8", errors="replace")), ""
    except ValueError as error:
        return None, str(error)


def _expected(assignment: str, course: Handin | None, staged: intake.Staged) -> tuple[Handin, list[str]]:
    """What is expected, and the notes that say where it came from."""
    own, unreadable = _folder_handin(staged)
    if course is not None:
        if own is not None and own != course.model_dump():
            return course, [_("this folder's {file} is not the release's: it is ignored", file=HANDIN)]
        return course, []
    if own is None:
        if unreadable:
            raise Refused(_("this folder's {file} cannot be read: {error}", file=HANDIN, error=unreadable))
        raise _unknown(assignment)
    try:
        info = Handin.model_validate(own)
    except ValidationError as error:
        raise Refused(
            _(
                "this folder's {file} is not a release's: {error}",
                file=HANDIN,
                error="; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in error.errors()[:5]),
            )
        ) from None
    if info.assignment != assignment:
        raise _unknown(assignment)
    return info, [
        _("no course on this machine: what is expected is read from this folder's {file}", file=HANDIN)
    ]


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())
    return path.stat().st_size


def _megabytes(size: int) -> str:
    return (
        _("{size:.1f} MB", size=size / 2**20)
        if size >= 2**20
        else _("{size} kB", size=math.ceil(size / 1024))
    )


def _deliverables(info: Handin, staged: intake.Staged) -> Finding:
    """Which deliverables the staged copy holds, and why the intake left out any it does not."""
    missing = [name for name in info.deliverables if not (staged.folder / name).exists()]
    present = [name for name in info.deliverables if name not in missing]
    lines = [_("present: {files}", files=", ".join(present)) if present else _("present: none")]
    if missing:
        lines.append(_("missing: {files}", files=", ".join(missing)))
    if staged.refused:
        lines.append(staged.note())
    tops = {name.split("/")[0] for name in [*info.deliverables, *info.models]}
    lines += [f"{path}: {why}" for path, why in staged.dropped if path.rstrip("/").split("/")[0] in tops]
    return Finding(_("deliverables"), not missing and not staged.refused, lines)


# --------------------------------------------------------------------------- loading models


class _LocalModel:
    """A model loaded in this process, answering as a sandboxed one does (``tpdl.grading.models.Model``)."""

    def __init__(self, model):
        self._model = model
        self.description = {"count_params": int(model.count_params())}

    def predict(self, x):
        return self._model.predict(x, verbose=0)


class Loader:
    """Loads the models of a staged folder: in the sandbox, in this process, or not at all (``refusal``)."""

    def __init__(
        self,
        staged: intake.Staged,
        notebook: str,
        folder_fd: int,
        folder: Path,
        zygote: sandbox.Zygote | None = None,
    ):
        self.staged, self.notebook = staged, notebook
        self.folder_fd, self.folder = folder_fd, folder
        self.zygote, self._own_zygote = zygote, False
        self._ready = zygote is not None  # a sandbox given is started; one launched here is waited for
        self.refusal: str | None = None
        self.in_process = False
        self._submission: Submission | None = None

    def start(self) -> None:
        """Launch the sandbox (it imports TensorFlow while the rest is read), or decide without it."""
        if self.zygote is not None:
            return
        try:
            self.zygote, self._own_zygote = sandbox.Zygote(preload=PRELOAD), True
            self.zygote.launch()
        except (sandbox.SandboxUnavailable, OSError):
            self._without_sandbox()

    def _without_sandbox(self) -> None:
        """Load in this process only the caller's own work (see the module's docstring)."""
        if self._own_zygote and self.zygote is not None:
            self.zygote.close()
        self.zygote = None
        if os.geteuid() == 0:
            self.refusal = _(
                "models are not loaded: the sandbox (bubblewrap) cannot run here, and tpdl check "
                "does not load a model outside it as root"
            )
        elif os.fstat(self.folder_fd).st_uid != os.geteuid():
            self.refusal = _(
                "models are not loaded: the sandbox (bubblewrap) cannot run here, and outside it "
                "tpdl check loads only your own work; this folder is not yours"
            )
        elif _in_course_submissions(self.folder):
            self.refusal = _(
                "models are not loaded: the sandbox (bubblewrap) cannot run here, and outside it "
                "tpdl check loads only your own work; this folder is a submission of the course"
            )
        else:
            self.in_process = True

    def _sandboxed(self):
        """The staged folder as the graders see it (a ``Submission``), once the sandbox is ready."""
        if self._submission is None and self.zygote is not None:
            if not self._ready:
                try:
                    self.zygote.wait_ready()  # it has imported Keras
                except sandbox.SandboxUnavailable:
                    self._without_sandbox()
                    return None
                self._ready = True
            self._submission = Submission(self.zygote, self.staged.folder, self.notebook)
        return self._submission

    def load(self, name: str):
        """The model ``name`` of the staged copy (``tpdl.grading.student.Model`` or :class:`_LocalModel`);
        raises :class:`Refused` with the reason where it is not loaded."""
        submission = self._sandboxed()
        if self.refusal:
            raise Refused(self.refusal)
        if self.in_process:
            return self._load_here(name)
        try:
            return submission.saved_model(name)
        except StudentCodeError as error:
            raise Refused(str(error)) from None

    def judge_state(self, notebook: dict) -> list[judge_state.Problem]:
        """What the judge's run of the staged notebook (``notebook``: its JSON) shows; raises
        :class:`Refused` where it is not run."""
        submission = self._sandboxed()
        if self.refusal:
            raise Refused(
                _(
                    "the notebook is not run as at grading: the sandbox (bubblewrap) cannot run here, and "
                    "outside it tpdl check runs only your own work, never as root"
                )
            )
        cells = judge_state.code_cells(notebook)
        if self.in_process:
            return judge_state.Apart(self.staged.folder, notebook).problems()
        request = protocol.Unbound(functions=judge_state.solution_functions(cells))
        try:
            submission.session.notebook_worker()
            names = submission.session.ask_notebook(request, _("the notebook as at grading")).names
        except StudentCodeError as error:
            raise Refused(str(error)) from None
        except sandbox.WorkerError as error:
            raise Refused(error.message) from None
        return judge_state.problems(cells, submission.cells, names)

    def _load_here(self, name: str) -> _LocalModel:
        import keras

        try:
            model = keras.saving.load_model(self.staged.folder / name, safe_mode=True, compile=False)
        except Exception as error:  # noqa: BLE001 - any file can be handed in: say why it does not load
            why = f"{type(error).__name__}: {(str(error).strip().splitlines() or [''])[0][:200]}"
            raise Refused(_("{file} could not be loaded safely: {why}", file=name, why=why)) from None
        return _LocalModel(model)

    def close(self) -> None:
        if self._submission is not None:
            self._submission.close()
        if self._own_zygote and self.zygote is not None:
            self.zygote.close()


def _in_course_submissions(folder: Path) -> bool:
    """Whether ``folder`` lies in the course's folders of students' work (nbgrader's)."""
    where = folder.resolve()
    return any(
        where.is_relative_to(root.resolve())
        for root in (paths.submitted(), paths.autograded(), paths.feedback())
    )


# --------------------------------------------------------------------------- estimates


def _estimate(kind: str, model) -> tuple[float, str]:
    """(the estimate, on what) for a model of ``kind`` (its ``predict`` runs where it was loaded)."""
    import secrets

    import numpy as np

    from tpdl.course import data, phantoms

    if kind == "mnist":
        mnist = data.load_mnist(source="fixture")
        x = mnist.x_test.reshape(len(mnist.x_test), -1).astype("float32") / 255.0
        accuracy = float(np.mean(np.asarray(model.predict(x)).argmax(axis=1) == mnist.y_test))
        return accuracy, _("the kit's {count:,} MNIST test images", count=len(x))
    if kind == "cifar10":
        cifar = data.load_cifar10(source="fixture")
        accuracy = float(np.mean(np.asarray(model.predict(cifar.x_test)).argmax(axis=1) == cifar.y_test))
        return accuracy, _("the kit's {count:,} CIFAR-10 test images", count=len(cifar.x_test))
    seed = secrets.randbelow(2**31)
    if kind == "volumes":
        images, labels, _masks = phantoms.volumes(ESTIMATE_SIZE[kind], seed=seed)
        accuracy = float(np.mean(np.asarray(model.predict(images)).argmax(axis=1) == labels))
        return accuracy, _("{count} fresh volumes", count=len(labels))
    images, masks = phantoms.phantoms(ESTIMATE_SIZE[kind], seed=seed)
    predicted = (np.asarray(model.predict(images)) >= 0.5).astype("float64").reshape(len(images), -1)
    truth = masks.astype("float64").reshape(len(images), -1)
    dice = (2 * (predicted * truth).sum(1) + 1) / (predicted.sum(1) + truth.sum(1) + 1)
    return float(dice.mean()), _("{count} fresh phantoms (Dice)", count=len(images))


def _model(name: str, kind: str, thresholds: dict, staged: intake.Staged, loader: Loader) -> Finding:
    path = staged.folder / name
    size = _megabytes(_size(path))
    try:
        model = loader.load(name)
    except Refused as refusal:
        return Finding(name, False, [str(refusal)])
    finding = Finding(
        name,
        True,
        [_("{size}, {parameters:,} parameters", size=size, parameters=model.description["count_params"])],
    )
    record = costs.read_record(path)
    if record is None:
        finding.lines.append(_("how it was trained is not recorded (its training cell records it)"))
    else:
        finding.lines.append(
            _(
                "trained on the {budget} budget, {epochs} epochs, {seconds} s",
                budget=record.get("budget"),
                epochs=record.get("epochs"),
                seconds=record.get("seconds"),
            )
        )
        if record.get("budget") != "full":
            finding.ok = False
            finding.lines.append(
                _("trained on the ci budget: train it on the full budget before you hand it in")
            )
    threshold_name = THRESHOLD_OF.get(kind)
    if threshold_name in thresholds:
        try:
            value, where = _estimate(kind, model)
        except Exception as error:  # noqa: BLE001 - a model of the wrong shape, say
            finding.ok = False
            finding.lines.append(
                _(
                    "could not be evaluated: {error}: {detail}",
                    error=type(error).__name__,
                    detail=str(error)[:200],
                )
            )
        else:
            needed = thresholds[threshold_name]
            passed = value >= needed
            finding.ok &= passed
            shown = (lambda v: f"{v:.3f}") if kind == "phantoms" else (lambda v: f"{v:.2%}")
            if passed:
                finding.lines.append(
                    _(
                        "{value} on {where}; {needed} is needed",
                        value=shown(value),
                        where=where,
                        needed=shown(needed),
                    )
                )
            else:
                finding.lines.append(
                    _(
                        "{value} on {where}; {needed} is needed: below",
                        value=shown(value),
                        where=where,
                        needed=shown(needed),
                    )
                )
    return finding


def _judged_run(path: Path, loader: Loader) -> Finding:
    """The notebook run as the judge runs it: the cells that fail, the names only a skipped cell gives."""
    name = _("the notebook as it is graded")
    try:
        notebook = json.loads(path.read_text(encoding="utf-8", errors="replace"))
        if not isinstance(notebook, dict):
            raise ValueError(_("the file is not a notebook (no list of cells)"))
        found = loader.judge_state(notebook)
    except ValueError as error:
        return Finding(name, False, [_("{file} cannot be read: {error}", file=path.name, error=error)])
    except Refused as refusal:
        return Finding(name, False, [str(refusal)])
    if not found:
        return Finding(
            name,
            True,
            [
                _(
                    "run with the cells tagged skip-grading skipped, as at grading: no cell "
                    "fails, and no function needs a skipped cell"
                )
            ],
        )
    return Finding(name, False, [problem.message for problem in found])


# --------------------------------------------------------------------------- the command


@contextlib.contextmanager
def _staged_folder(folder: Path):
    """``(descriptor, staged copy)`` of ``folder``, read by the grading intake; removed afterwards."""
    try:
        folder_fd = intake.open_folder(None, folder)
    except OSError as error:
        raise Refused(
            _(
                "{folder} is a link or not a folder ({error})",
                folder=str(folder),
                error=error.strerror or type(error).__name__,
            )
        ) from None
    scratch = Path(tempfile.mkdtemp(prefix="tpdl-check-"))
    try:
        yield folder_fd, intake.stage(folder_fd, scratch / "folder", intake.IntakeLimits())
    finally:
        os.close(folder_fd)
        shutil.rmtree(scratch, ignore_errors=True)


def check(assignment: str, folder: Path, zygote: sandbox.Zygote | None = None) -> Report:
    """Check ``folder`` as a hand-in of ``assignment`` (``zygote``: a sandbox already started, else
    one is started when there are models to load)."""
    if not ASSIGNMENT.fullmatch(assignment):
        raise _unknown(assignment)
    course = _course_handin(assignment)
    if course is None and not Path(folder).is_dir():
        raise _unknown(assignment)
    with _staged_folder(Path(folder)) as (folder_fd, staged):
        info, notes = _expected(assignment, course, staged)
        report = Report(notes=notes, findings=[_deliverables(info, staged)])
        models = [(name, kind) for name, kind in info.models.items() if (staged.folder / name).is_file()]
        notebook = staged.folder / f"{assignment}.ipynb"
        if not models and not notebook.is_file():
            return report
        loader = Loader(staged, notebook.name, folder_fd, Path(folder), zygote)
        try:
            loader.start()
            if notebook.is_file():
                report.findings.append(_judged_run(notebook, loader))
            for name, kind in models:
                report.findings.append(_model(name, kind, info.thresholds, staged, loader))
        finally:
            loader.close()
        if loader.in_process and models:
            report.notes.append(
                _(
                    "the sandbox (bubblewrap) cannot run here: your models are loaded in this "
                    "process, with safe_mode"
                )
            )
    return report


def main(assignment: str, folder: Path, out=None, zygote: sandbox.Zygote | None = None) -> int:
    """Print the check of ``folder`` (every line through the terminal escaper); 0 if ready to hand in."""
    from rich.console import Console
    from rich.text import Text

    console = Console(file=out or sys.stdout, highlight=False, markup=False, emoji=False, soft_wrap=True)

    def say(line: str, indent: str = "") -> None:
        console.print(Text(indent + safe.for_terminal(line, LINE_CHARS)))

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with _speaking(assignment, folder):
        try:
            report = check(assignment, folder, zygote)
        except Refused as refusal:
            raise SystemExit(safe.for_terminal(str(refusal), LINE_CHARS)) from None
        for note in report.notes:
            say(note)
        done, left = _("ok"), _("TODO")
        width = max(len(done), len(left))
        for finding in report.findings:
            say(f"{done if finding.ok else left:<{width}} {finding.name}")
            for line in finding.lines:
                say(line, " " * (width + 1))
        todo = [f.name for f in report.findings if not f.ok]
        if todo:
            say(
                _(
                    "{assignment}: to do before you hand in: {todo}",
                    assignment=assignment,
                    todo=", ".join(todo),
                )
            )
        else:
            say(_("{assignment}: ready to hand in", assignment=assignment))
    return 1 if todo else 0


@contextlib.contextmanager
def _speaking(assignment: str, folder: Path):
    """The check speaks the language of the edition it checks (its folder's ``handin.json``, else the
    edition its name says, ``tp1-fr``), wherever it is run from, unless ``TPDL_LANG`` says otherwise."""
    chosen = None
    if not os.environ.get(i18n.ENV, "").strip():
        named = paths.language_of(assignment)
        chosen = i18n.edition_language(folder) or (named if named != paths.SOURCE_LANGUAGE else None)
    if chosen is None:
        yield
        return
    os.environ[i18n.ENV] = chosen
    try:
        yield
    finally:
        os.environ.pop(i18n.ENV, None)


def readme_table() -> str:
    """The hand-in list of every TP, for the README (from the manifests)."""
    lines = ["| TP | hand in |", "| --- | --- |"]
    for assignment in paths.assignments():
        files = ", ".join(f"`{name}`" for name in manifest.load(assignment).deliverables)
        lines.append(f"| {assignment.upper()} | {files} |")
    return "\n".join(lines)
