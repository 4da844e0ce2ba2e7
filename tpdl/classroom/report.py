"""What the judge writes after grading: feedback, the gradebook, the class CSV, the HTML report, a table.

Everything a student controls (ids, messages, cell records, their notebook) reaches each medium
escaped for it (``tpdl.core.safe``): HTML through Jinja2 templates with autoescaping, the terminal as
Rich ``Text`` (never markup), CSV cells defused, logs made printable. The notebook kept in
``autograded/`` for formgrader is rebuilt by :func:`safe_notebook`: no output, no active content,
nothing that the instructor's browser would load from elsewhere.
"""

import contextlib
import csv
import datetime
import html
import io
import json
import re
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from tpdl.authoring import exercises
from tpdl.classroom import gradebook
from tpdl.core import i18n, paths, safe
from tpdl.core.files import write_atomically

_ = i18n.KIT  # what the students are told

console = Console(stderr=False, highlight=False)
TEMPLATES = Environment(
    loader=PackageLoader("tpdl", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
)


def _page_words(message: str, /, **values) -> Markup:
    """The pages' own words, in the students' language, their values escaped unless already HTML
    (an exercise's heading, rendered by :func:`heading_html`)."""
    return Markup(escape(_.translate(message))).format(**values)


TEMPLATES.globals["_"] = _page_words


@dataclass(frozen=True)
class Outputs:
    """Where one grading run writes.

    The class's run (``apart`` is None) writes the course's ``autograded/``, ``feedback/``,
    ``reports/<tp>/`` and its gradebook. A folder graded apart from the class (``tpdl grade
    --submissions DIR``: the sample class, a folder of clones) writes ``autograded/``, ``feedback/``,
    ``grades.csv`` and ``report.html`` under ``apart``, and never the class's folders or gradebook.
    """

    assignment: str
    apart: Path | None = None

    @property
    def autograded(self) -> Path:
        return self.apart / "autograded" if self.apart else paths.autograded()

    @property
    def feedback(self) -> Path:
        return self.apart / "feedback" if self.apart else paths.feedback()

    @property
    def reports(self) -> Path:
        """The folder of the CSV and the HTML report."""
        return self.apart or paths.reports() / self.assignment

    def graded(self, student: str) -> Path:
        """``autograded/<student>/<tp>/``: the student's results, log and graded notebook."""
        return self.autograded / student / self.assignment

    def feedback_of(self, student: str) -> Path:
        """``feedback/<student>/<tp>/``: the student's feedback page."""
        return self.feedback / student / self.assignment


def prepare() -> None:
    """Import what the reports need now, while the sandbox starts on the other core."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot
    import nbgrader.api
    import nbgrader.preprocessors  # noqa: F401

    with contextlib.suppress(Exception):  # a broken nbgrader_config.py is reported where it is used
        gradebook.settings()  # read once: it imports nbgrader's and the kit's classes


# --------------------------------------------------------------------------- progress


class _Bar:
    def __init__(self, total: int, enabled: bool):
        self.progress = None
        if enabled:
            self.progress = Progress(
                TextColumn("grading"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.description}", markup=False),
                console=Console(stderr=True),
                transient=False,
            )
            self.progress.start()
            self.task = self.progress.add_task("", total=total)

    def advance(self, student: str, result: dict) -> None:
        if self.progress:
            score = f"{result.get('score', 0):g}/{gradebook.maximum(result).max_score:g}"
            self.progress.update(
                self.task, advance=1, description=f"{safe.for_terminal(student, 64)}: {score}"
            )

    def close(self) -> None:
        if self.progress:
            self.progress.stop()


def progress_bar(total: int, enabled: bool = True) -> _Bar:
    return _Bar(total, enabled)


# --------------------------------------------------------------------------- one student


def student_notes(result: dict) -> list[str]:
    """What the student is told besides the checks: missing work, what the intake left out, our failure."""
    notes = [result["missing"]] if result.get("missing") else []
    notes += list(result.get("notes", []))
    if result.get("infrastructure"):
        notes.append(
            _(
                "Part of your grading could not be completed because of a problem on the grading machine, "
                "not in your work; your instructor has the details and will grade it again."
            )
        )
    return [safe.for_log(note) for note in notes]


def _check_row(c: dict, names: i18n.Messages) -> dict:
    """A check as the feedback page shows it, named in the students' language by its TP's catalogue."""
    return {
        "name": safe.for_log(names.check(c["name"])),
        "passed": bool(c["passed"]),
        "points": _("not counted")
        if not c.get("counted", True)
        else f"{c['points']:g} / {c['max_points']:g}",
        "message": safe.for_log(c["message"] or _("passed")),
    }


def exercise_sections(result: dict) -> list[dict]:
    """The result's checks under the notebook's exercises, in notebook order (``tpdl.authoring.exercises``),
    each with its heading and points; checks of a cell under no exercise come last."""
    checks = result.get("checks", [])
    names = i18n.domain(paths.graders(result["assignment"]))
    sections, placed = [], set()
    for exercise in exercises.of_assignment(result["assignment"], i18n.language()):
        mine = sorted(
            (c for c in checks if c.get("cell") in exercise.cells),
            key=lambda c: exercise.cells.index(c["cell"]),
        )
        if not mine:
            continue
        placed.update(id(c) for c in mine)
        sections.append(
            {
                "heading": heading_html(exercise.heading),
                "points": _section_points(mine),
                "checks": [_check_row(c, names) for c in mine],
            }
        )
    rest = [c for c in checks if id(c) not in placed]
    if rest:
        sections.append(
            {
                "heading": escape(_("Other checks") if sections else _("Checks")),
                "points": _section_points(rest),
                "checks": [_check_row(c, names) for c in rest],
            }
        )
    return sections


def _section_points(checks: list[dict]) -> str:
    """A part's points out of all its checks' (``gradebook.maximum``'s way), those not counted apart."""
    earned, most = sum(c["points"] for c in checks), sum(c["max_points"] for c in checks)
    uncounted = sum(c["max_points"] for c in checks if not c.get("counted", True))
    if uncounted:
        return _(
            "{score} / {max_score} ({not_counted} not counted)",
            score=f"{earned:g}",
            max_score=f"{most:g}",
            not_counted=f"{uncounted:g}",
        )
    return f"{earned:g} / {most:g}"


INLINE_TAGS = frozenset({"code", "em", "strong", "sub", "sup"})


def heading_html(text: str) -> Markup:
    """A heading of the notebook's as HTML: its inline markdown rendered (code, emphasis), anything
    else (links, images, HTML) left as escaped text."""
    import bleach

    rendered = safe_markdown(text).strip().removeprefix("<p>").removesuffix("</p>")
    return Markup(bleach.clean(rendered, tags=INLINE_TAGS, attributes={}, strip=True))


def feedback_html(result: dict, totals=None) -> str:
    """A student's feedback page: each check's name, points and message, nothing of the graders;
    with ``totals`` (:class:`tpdl.classroom.gradebook.Totals`), the hand-graded points, the late penalty and
    the total that the gradebook holds, and what still waits for grading."""
    sections = exercise_sections(result)
    judged = gradebook.maximum(result)
    failing = [
        {"cell": int(c.get("cell", 0)), "message": safe.for_log(c.get("message", ""))}
        for c in result.get("notebook", {}).get("cells", [])
        if c.get("status") == "error"
    ]
    summary = None
    if totals is not None:
        summary = {
            "automatic": f"{totals.automatic:g}",
            "manual": f"{totals.manual:g}",
            "late_penalty": f"{totals.late_penalty:g}",
            "score": f"{totals.score:g}",
            "max_score": f"{gradebook.maximum(result, totals).max_score:g}",
            "not_counted": f"{gradebook.maximum(result, totals).not_counted:g}",
            "waiting": [(safe.for_log(w.cell), f"{w.max_points:g}", w.why) for w in totals.waiting],
            "comments": [(safe.for_log(cell), safe.for_log(text)) for cell, text in totals.comments],
        }
    return TEMPLATES.get_template("feedback.html.j2").render(
        assignment=safe.for_log(result["assignment"]),
        student=safe.for_log(result["student"]),
        notes=student_notes(result),
        score=f"{result['score']:g}",
        max_score=f"{judged.max_score:g}",
        not_counted=f"{judged.not_counted:g}" if judged.not_counted else "",
        sections=sections,
        failing_cells=failing,
        totals=summary,
        lang=i18n.language(),
    )


# What the judge keeps in autograded/<student>/<tp>/; anything else there (nbgrader's autograde
# copies the student's files and the source's templates) is removed.
KEPT_IN_AUTOGRADED = ("results.json", "grading.log", *gradebook.SUBMISSION_FILES)


def write_student(result: dict, staged: Path | None, target: Path, log: str) -> None:
    """The instructor's log, the graded notebook (made safe) and the submission's timestamp and
    secret of one student, in ``target`` (``autograded/<student>/<tp>/``)."""
    target.mkdir(parents=True, exist_ok=True)
    notebook_name = f"{result['assignment']}.ipynb"
    for entry in list(target.iterdir()):
        if entry.name not in KEPT_IN_AUTOGRADED:
            shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
    if staged is not None and (staged / notebook_name).is_file():
        notebook = safe_notebook(staged / notebook_name, paths.release(result["assignment"]) / notebook_name)
        if notebook is not None:
            import nbformat

            show_checks(notebook, result)
            write_atomically(target / notebook_name, nbformat.writes(notebook))
    write_atomically(target / "grading.log", safe.for_log(log or ""))
    # nbgrader's release_feedback stops for the whole class at a page without both files: where
    # the submission has none (or an unreadable one), the time of grading and a secret of the
    # judge's stand in (no student can fetch a page released under a secret they never had).
    files = gradebook.submission_files(staged) if staged is not None else {}
    files.setdefault(
        gradebook.TIMESTAMP_FILE, datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S.%f UTC")
    )
    files.setdefault(gradebook.SECRET_FILE, secrets.token_hex(16))
    for name in gradebook.SUBMISSION_FILES:
        write_atomically(target / name, files[name])


def write_feedback(result: dict, totals=None, outputs: Outputs | None = None) -> Path:
    """``feedback/<student>/<tp>/<tp>.html`` (the class's, unless ``outputs`` says otherwise), the
    page nbgrader's ``release_feedback`` hands out, with the submission's timestamp and secret that
    it needs beside it."""
    outputs = outputs or Outputs(result["assignment"])
    folder = outputs.feedback_of(result["student"])
    page = folder / f"{result['assignment']}.html"
    write_atomically(page, feedback_html(result, totals))
    graded = outputs.graded(result["student"])
    for name in gradebook.SUBMISSION_FILES:
        text = gradebook.read_small_file(graded, name)
        if text is not None:
            write_atomically(folder / name, text)
    (folder / "feedback.html").unlink(missing_ok=True)  # the name used before nbgrader's
    return page


# --------------------------------------------------------------------------- the graded notebook

SAFE_TAGS = frozenset(
    {
        "a",
        "abbr",
        "b",
        "blockquote",
        "br",
        "code",
        "del",
        "div",
        "em",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "i",
        "img",
        "kbd",
        "li",
        "ol",
        "p",
        "pre",
        "s",
        "span",
        "strong",
        "sub",
        "sup",
        "table",
        "tbody",
        "td",
        "th",
        "thead",
        "tr",
        "ul",
    }
)
SAFE_PROTOCOLS = frozenset({"http", "https", "mailto", "data"})  # bleach's own check, after ours
# What an instructor's browser may load from a student's markdown: images held in the page itself,
# nothing else. A link only navigates when clicked: it may point outside, but loads nothing.
IMAGE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
INLINE_IMAGE = re.compile(r"data:image/(png|jpeg|gif|webp);base64,[A-Za-z0-9+/]+={0,2}")
LINK = re.compile(r"(https?://|mailto:|#)", re.IGNORECASE)
BASE64 = re.compile(r"[A-Za-z0-9+/]+={0,2}")
SAFE_TAG_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
MARKDOWN_PASSES = 5
# MathJax, which formgrader loads, turns these TeX commands into links or HTML attributes.
# MathJax commands that attach a link, a class, an id, a style (a CSS url() loads) or a module to a formula.
MATHJAX_ACTIVE = re.compile(
    r"\\(href|class|cssId|style|data|unicode|require|mmlToken|bbox|enclose)(?![A-Za-z])"
)


def _allowed_attribute(tag: str, name: str, value: str) -> bool:
    """Whether a cleaned tag keeps an attribute: no style, no handler, and no source but an inline image."""
    if tag == "a":
        return name == "title" or (name == "href" and LINK.match(value) is not None)
    if tag == "img":
        return name in ("alt", "title") or (name == "src" and INLINE_IMAGE.fullmatch(value) is not None)
    return tag in ("td", "th") and name == "align"


def _base64(data) -> str | None:
    """A mime bundle's base64 value (a string or nbformat's list of lines) without its line breaks."""
    if isinstance(data, list) and all(isinstance(line, str) for line in data):
        data = "".join(data)
    if not isinstance(data, str):
        return None
    data = "".join(data.split())
    return data if BASE64.fullmatch(data) else None


def inline_images(attachments) -> dict:
    """A cell's attachments that are raster images in base64 (what ``attachment:`` may show), as the
    markdown renderer inlines them (``data:`` URLs); SVG and anything else are dropped."""
    kept = {}
    if not isinstance(attachments, dict):
        return kept
    for name, bundle in attachments.items():
        if isinstance(name, str) and isinstance(bundle, dict):
            images = {kind: _base64(bundle.get(kind)) for kind in IMAGE_TYPES}
            if images := {kind: data for kind, data in images.items() if data}:
                kept[name] = images
    return kept


def safe_markdown(source: str, attachments=None) -> str:
    """A markdown cell's text rendered to HTML and cleaned of anything active or loaded from elsewhere
    (scripts, handlers, ``javascript:`` links, frames, styles, images but inline ones), kept as the
    cell's source: it renders the same, harmlessly. Its raster ``attachments`` are inlined.

    nbgrader's formgrade template renders markdown without nbconvert's sanitiser, and markdown that
    an HTML block hid from one rendering (``[x](javascript:...)`` after a raw ``<a>`` line) is a link
    in the next: the text is rendered and cleaned again until it no longer changes.
    """
    import bleach
    from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

    text = safe.text(source)
    images = inline_images(attachments)
    for _rendering in range(MARKDOWN_PASSES):
        try:
            renderer = IPythonRenderer(escape=False, attachments=images)
            rendered = MarkdownWithMath(renderer=renderer).render(text)
        except Exception:  # noqa: BLE001 - markdown the renderer chokes on (a missing attachment): plain text
            return f"<pre>{html.escape(safe.for_log(source))}</pre>"
        cleaned = bleach.clean(
            rendered, tags=SAFE_TAGS, attributes=_allowed_attribute, protocols=SAFE_PROTOCOLS, strip=True
        )
        cleaned = MATHJAX_ACTIVE.sub(r"\\text", cleaned)
        if cleaned.strip() == text.strip():
            return cleaned
        text = cleaned
    return f"<pre>{html.escape(safe.for_log(source))}</pre>"


def show_checks(notebook, result: dict) -> None:
    """Under each code cell of the graded notebook that the judge's checks count towards, those
    checks as the feedback gives them (name, points, message), one line each, in a plain-text
    output: formgrader's grading view shows it escaped, out of MathJax's reach (text in ``<pre>``)."""
    import nbformat

    names = i18n.domain(paths.graders(result["assignment"]))
    rows: dict[str, list[dict]] = {}
    for check in (c for c in result.get("checks", []) if c.get("cell")):
        rows.setdefault(check["cell"], []).append(_check_row(check, names))
    for cell in (c for c in notebook.cells if c.cell_type == "code"):
        lines = [
            f"{'✓' if r['passed'] else '✗'} {r['points']}  {r['name']}: {r['message']}\n"
            for r in rows.get(cell.metadata.get("nbgrader", {}).get("grade_id"), [])
        ]
        if lines:
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="".join(lines))]


def safe_notebook(submitted: Path, release: Path):
    """The student's notebook as formgrader may render it, or None if it cannot be read.

    Grade cells keep the release's nbgrader metadata by ``grade_id`` (a student cannot add points
    or grade cells), locked cells the release's source; code cells lose their outputs, markdown
    cells anything active or loaded from elsewhere (raster attachments are inlined), raw cells
    become their text, escaped; other metadata is dropped, tags kept only when they are plain names.
    """
    import nbformat

    try:
        notebook = nbformat.reads(submitted.read_text(encoding="utf-8", errors="replace"), as_version=4)
        master = nbformat.read(release, as_version=4)
    except Exception:  # noqa: BLE001 - not a notebook (or no release to compare with)
        return None
    graded = {
        c.metadata["nbgrader"]["grade_id"]: c
        for c in master.cells
        if isinstance(c.metadata.get("nbgrader", {}).get("grade_id"), str)
    }
    cells, used = [], set()
    for cell in notebook.cells if isinstance(notebook.get("cells"), list) else []:
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw"):
            continue
        source = cell.get("source", "")
        source = safe.text("".join(source) if isinstance(source, list) else source)
        metadata = cell.get("metadata") if isinstance(cell.get("metadata"), dict) else {}
        tags = [t for t in metadata.get("tags", []) if isinstance(t, str) and SAFE_TAG_NAME.fullmatch(t)]
        grade_id = (
            metadata.get("nbgrader", {}).get("grade_id")
            if isinstance(metadata.get("nbgrader"), dict)
            else None
        )
        kind, attachments = cell["cell_type"], cell.get("attachments")
        new_metadata = {"tags": tags} if tags else {}
        if isinstance(grade_id, str) and grade_id in graded and grade_id not in used:
            used.add(grade_id)
            original = graded[grade_id]
            new_metadata["nbgrader"] = dict(original.metadata["nbgrader"])
            if original.metadata["nbgrader"].get("locked") and not original.metadata["nbgrader"].get(
                "solution"
            ):
                kind, source, attachments = original.cell_type, original.source, original.get("attachments")
        if kind == "code":
            cells.append(nbformat.v4.new_code_cell(source, metadata=new_metadata))
        elif kind == "markdown":
            cells.append(
                nbformat.v4.new_markdown_cell(safe_markdown(source, attachments), metadata=new_metadata)
            )
        else:
            cells.append(
                nbformat.v4.new_markdown_cell(
                    f"<pre>{html.escape(safe.for_log(source))}</pre>", metadata=new_metadata
                )
            )
    return nbformat.v4.new_notebook(cells=cells, metadata=dict(master.metadata))


# --------------------------------------------------------------------------- the class


def instructor_notes(student: str, result: dict, outcome) -> list[str]:
    """What the instructor should act on for one student (the table's, the report's and the CSV's
    note): a problem of the grading machine or of the graders, a missing deliverable, a late
    penalty, points waiting for grading in formgrader."""
    if result.get("missing"):
        return [result["missing"]]
    if result.get("refused"):
        return [f"refused: {result['refused']}"]
    found = []
    if result.get("infrastructure"):
        found.append("grading incomplete: a problem on the grading machine (see its grading.log)")
    if result.get("internal_errors"):
        found.append(
            f"internal error of the graders in {result['internal_errors']} check(s): "
            "see its grading.log; graded again next run"
        )
    if result.get("missing_files"):
        found.append(f"missing deliverable: {', '.join(result['missing_files'])}")
    totals = outcome.totals.get(student)
    if totals is not None and totals.late_penalty:
        found.append(f"late: {totals.late_penalty:g} points off")
    if totals is not None and totals.waiting:
        waiting = ", ".join(f"{w.cell} ({w.max_points:g})" for w in totals.waiting)
        found.append(
            f"{sum(w.max_points for w in totals.waiting):g} points wait for grading in formgrader: {waiting}"
        )
    if student not in outcome.graded_now:
        found.append("unchanged since last run")
    return found


def _note(student: str, result: dict, outcome) -> str:
    return "; ".join(instructor_notes(student, result, outcome))


def check_names(outcome) -> list[str]:
    """The names of the class's checks, in the order of their grade cells in the notebook (checks
    of one cell in the graders' order; a check of no known cell last)."""
    in_notebook = [cell for part in exercises.of_assignment(outcome.assignment) for cell in part.cells]
    order = {cell: index for index, cell in enumerate(in_notebook)}
    cells: dict[str, str | None] = {}
    for result in outcome.students.values():
        for check in result["checks"]:
            cells.setdefault(check["name"], check.get("cell"))
    return sorted(cells, key=lambda name: order.get(cells[name], len(order)))


def _total(student: str, result: dict, outcome) -> tuple[float, gradebook.Maximum]:
    """``(score, maximum)``: the gradebook's total (hand grades and late penalty included) where it
    has one, else the judge's own; out of :func:`tpdl.classroom.gradebook.maximum`."""
    totals = outcome.totals.get(student)
    score = result["score"] if totals is None else totals.score
    return score, gradebook.maximum(result, totals)


def class_csv(outcome) -> str:
    """One row per student: the total that ``nbgrader export`` gives too, its parts, each check's points."""
    names = check_names(outcome)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    header = [
        "student",
        "score",
        "max_score",
        "automatic",
        "manual",
        "late_penalty",
        "not_counted",
        *names,
        "note",
    ]
    writer.writerow([safe.for_csv(cell) for cell in header])
    for student, result in sorted(outcome.students.items()):
        points = {c["name"]: c["points"] for c in result["checks"]}
        totals = outcome.totals.get(student)
        score, most = _total(student, result, outcome)
        parts = (
            [totals.automatic, totals.manual, totals.late_penalty]
            if totals is not None
            else [result["score"], 0, 0]
        )
        row = [
            student,
            score,
            most.max_score,
            *parts,
            most.not_counted,
            *(points.get(n, 0) for n in names),
            _note(student, result, outcome),
        ]
        writer.writerow([safe.for_csv(cell) for cell in row])
    return buffer.getvalue()


def _histogram_svg(scores: list[float], max_score: float) -> str:
    """A grade histogram as inline SVG (made from numbers only)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 2.8))
    axes.hist(scores, bins=min(20, max(5, len(scores))), range=(0, max(max_score, 1e-9)), color="#4063a0")
    axes.set_xlabel("score")
    axes.set_ylabel("students")
    axes.set_title("grade distribution")
    figure.tight_layout()
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg")
    plt.close(figure)
    svg = buffer.getvalue()
    return svg[svg.index("<svg") :]


def class_html(outcome) -> str:
    students = sorted(outcome.students.items())
    totals = {s: _total(s, r, outcome) for s, r in students}
    max_score = max((totals[s][1].max_score for s, _result in students), default=0.0)
    scores = [totals[s][0] for s, _result in students]
    rows = [
        {
            "student": safe.for_log(s),
            "score": f"{totals[s][0]:g}",
            "max_score": f"{totals[s][1].max_score:g}",
            "not_counted": f"{totals[s][1].not_counted:g}" if totals[s][1].not_counted else "",
            "passed": sum(c["passed"] for c in r["checks"]),
            "checks": len(r["checks"]),
            "note": safe.for_log(_note(s, r, outcome)),
        }
        for s, r in students
    ]
    rates: dict[str, list[bool]] = {name: [] for name in check_names(outcome)}
    for _name, result in students:
        for check in result["checks"]:
            rates[check["name"]].append(check["passed"])
    return TEMPLATES.get_template("report.html.j2").render(
        assignment=outcome.assignment,
        students=rows,
        max_score=f"{max_score:g}",
        mean=f"{sum(scores) / max(len(scores), 1):.2f}",
        problems=len(outcome.infrastructure),
        histogram=Markup(_histogram_svg(scores, max_score)) if students else "",
        refused=[(safe.for_log(name), safe.for_log(why)) for name, why in sorted(outcome.refused.items())],
        rates=[(safe.for_log(name), f"{100 * sum(v) / len(v):.0f}") for name, v in rates.items()],
    )


def print_table(outcome) -> None:
    table = Table(title=Text(f"{outcome.assignment}: {len(outcome.students)} students"))
    for column in ("student", "score", "checks passed", "note"):
        table.add_column(column)
    for student, result in sorted(outcome.students.items()):
        passed = sum(c["passed"] for c in result["checks"])
        score, most = _total(student, result, outcome)
        table.add_row(
            Text(safe.for_terminal(student, 64)),
            Text(
                f"{score:g} / {most.max_score:g}"
                + (f" ({most.not_counted:g} not counted)" if most.not_counted else "")
            ),
            Text(f"{passed} / {len(result['checks'])}"),
            Text(safe.for_terminal(_note(student, result, outcome), 300)),
        )
    console.print(table)
    for name, why in sorted(outcome.refused.items()):
        console.print(Text(f"not graded: {safe.for_terminal(name, 64)}: {safe.for_terminal(why, 200)}"))


def write_all(outcome, submissions: Path, json_path: Path | None, html_path: Path | None) -> None:
    """The class-level outputs: gradebook, feedback, CSV, HTML, optional JSON, and the printed table
    (where ``outcome.outputs`` says: a folder graded apart from the class has no gradebook).

    Each is written on its own: one that fails is reported and the others are still written.
    """
    outputs = outcome.outputs
    folder = outputs.reports
    folder.mkdir(parents=True, exist_ok=True)
    notes = []

    def attempt(what: str, write) -> None:
        try:
            write()
        except Exception as error:  # noqa: BLE001 - say so and write the rest
            notes.append(
                f"{what} could not be written ({type(error).__name__}: {safe.for_terminal(error, 200)})"
            )

    def record_in_gradebook():
        written, outcome.totals = gradebook.record(outcome.assignment, outcome.students)
        notes.extend(written)

    if outputs.apart is None:
        attempt("the gradebook", record_in_gradebook)
    for student, result in sorted(outcome.students.items()):
        if not result.get("missing"):
            attempt(
                f"{student}'s feedback",
                lambda r=result, s=student: write_feedback(r, outcome.totals.get(s), outputs),
            )
    attempt("the class CSV", lambda: write_atomically(folder / "grades.csv", class_csv(outcome)))

    def write_html():
        page = class_html(outcome)
        write_atomically(folder / "report.html", page)
        if html_path:
            Path(html_path).write_text(page, encoding="utf-8")

    attempt("the HTML report", write_html)
    if json_path:
        attempt(
            "the JSON results", lambda: Path(json_path).write_text(json.dumps(outcome.to_json(), indent=2))
        )
    attempt("the table", lambda: print_table(outcome))
    if outputs.apart is None:
        attempt(
            "the check of the exchange",
            lambda: notes.extend(gradebook.missing_after_collect(outcome.assignment, Path(submissions))),
        )
    for student in outcome.infrastructure:
        notes.append(f"{student}: grading incomplete (a problem on the grading machine; see its grading.log)")
    for note in notes:
        console.print(Text(f"note: {safe.for_terminal(note, 400)}", style="yellow"))
    if outputs.apart is not None:
        class_folder = paths.reports() / outcome.assignment
        console.print(
            Text(
                f"graded apart from the class: results, feedback and reports in {outputs.apart}/; the "
                f"class's gradebook, autograded/, feedback/ and {class_folder}/grades.csv and report.html "
                "are untouched"
            ),
            soft_wrap=True,
        )
    console.print(Text(f"class CSV: {folder / 'grades.csv'}"), soft_wrap=True)  # a path, never wrapped
    console.print(Text(f"report:    {html_path or folder / 'report.html'}"), soft_wrap=True)
