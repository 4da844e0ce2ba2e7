"""What the judge writes after grading: feedback, the gradebook, the class CSV, the HTML report, a table.

Everything a student controls (ids, messages, cell records, their notebook) reaches each medium
escaped for it (``tpdl.safe``): HTML through Jinja2 templates with autoescaping, the terminal as
Rich ``Text`` (never markup), CSV cells defused, logs made printable. The notebook kept in
``autograded/`` for formgrader is rebuilt by :func:`safe_notebook`: no output, no active content.
"""

import csv
import html
import io
import json
import re
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from tpdl import paths, safe

console = Console(stderr=False, highlight=False)
TEMPLATES = Environment(
    loader=PackageLoader("tpdl", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
)


def prepare() -> None:
    """Import what the reports need now, while the sandbox starts on the other core."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot  # noqa: F401
    import nbgrader.api  # noqa: F401


# --------------------------------------------------------------------------- progress


class _Bar:
    def __init__(self, total: int, enabled: bool):
        self.progress = None
        if enabled:
            self.progress = Progress(
                TextColumn("grading"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                TextColumn("{task.description}", markup=False), console=Console(stderr=True), transient=False,
            )  # fmt: skip
            self.progress.start()
            self.task = self.progress.add_task("", total=total)

    def advance(self, student: str, result: dict) -> None:
        if self.progress:
            score = f"{result.get('score', 0):g}/{result.get('max_score', 0):g}"
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
    """What the student is told besides the checks: missing work, what the intake left out, a failure of ours."""
    notes = [result["missing"]] if result.get("missing") else []
    notes += list(result.get("notes", []))
    if result.get("infrastructure"):
        notes.append(
            "Part of your grading could not be completed because of a problem on the grading machine, "
            "not in your work; your instructor has the details and will grade it again."
        )
    return [safe.for_log(note) for note in notes]


def feedback_html(result: dict) -> str:
    """A student's feedback page: each check's name, points and message, nothing of the graders."""
    checks = [
        {
            "name": safe.for_log(c["name"]),
            "passed": bool(c["passed"]),
            "points": "not counted"
            if not c.get("counted", True)
            else f"{c['points']:g} / {c['max_points']:g}",
            "message": safe.for_log(c["message"] or "passed"),
        }
        for c in result.get("checks", [])
    ]
    failing = [
        {"cell": int(c.get("cell", 0)), "message": safe.for_log(c.get("message", ""))}
        for c in result.get("notebook", {}).get("cells", [])
        if c.get("status") == "error"
    ]
    return TEMPLATES.get_template("feedback.html.j2").render(
        assignment=safe.for_log(result["assignment"]), student=safe.for_log(result["student"]),
        notes=student_notes(result), score=f"{result['score']:g}", max_score=f"{result['max_score']:g}",
        checks=checks, failing_cells=failing,
    )  # fmt: skip


def write_student(result: dict, staged: Path | None, target: Path, log: str) -> None:
    """Feedback, the instructor's log and the graded notebook (made safe) of one student."""
    target.mkdir(parents=True, exist_ok=True)
    notebook_name = f"{result['assignment']}.ipynb"
    (target / notebook_name).unlink(missing_ok=True)
    if staged is not None and (staged / notebook_name).is_file():
        notebook = safe_notebook(staged / notebook_name, paths.release(result["assignment"]) / notebook_name)
        if notebook is not None:
            import nbformat

            nbformat.write(notebook, target / notebook_name)
    (target / "grading.log").write_text(safe.for_log(log or ""), encoding="utf-8")
    feedback = paths.feedback() / result["student"] / result["assignment"]
    feedback.mkdir(parents=True, exist_ok=True)
    (feedback / "feedback.html").write_text(feedback_html(result), encoding="utf-8")


# --------------------------------------------------------------------------- the graded notebook

SAFE_TAGS = frozenset({
    "a", "abbr", "b", "blockquote", "br", "code", "del", "div", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr",
    "i", "img", "kbd", "li", "ol", "p", "pre", "s", "span", "strong", "sub", "sup", "table", "tbody", "td",
    "th", "thead", "tr", "ul",
})  # fmt: skip
SAFE_ATTRIBUTES = {"a": ["href", "title"], "img": ["src", "alt", "title"], "td": ["align"], "th": ["align"]}
SAFE_PROTOCOLS = frozenset({"http", "https", "mailto"})
SAFE_TAG_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
MARKDOWN_PASSES = 5


def safe_markdown(source: str) -> str:
    """A markdown cell's text rendered to HTML and cleaned of anything active (scripts, handlers,
    ``javascript:`` links, frames, styles), kept as the cell's source: it renders the same, harmlessly.

    nbgrader's formgrade template renders markdown without nbconvert's sanitiser, and markdown that
    an HTML block hid from one rendering (``[x](javascript:...)`` after a raw ``<a>`` line) is a link
    in the next: the text is rendered and cleaned again until it no longer changes.
    """
    import bleach
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    text = safe.text(source)
    for _ in range(MARKDOWN_PASSES):
        try:
            rendered = markdown2html_mistune(text)
        except Exception:  # noqa: BLE001 - markdown the renderer chokes on (a missing attachment): plain text
            return f"<pre>{html.escape(safe.for_log(source))}</pre>"
        cleaned = bleach.clean(rendered, tags=SAFE_TAGS, attributes=SAFE_ATTRIBUTES, protocols=SAFE_PROTOCOLS,
                               strip=True)  # fmt: skip
        if cleaned.strip() == text.strip():
            return cleaned
        text = cleaned
    return f"<pre>{html.escape(safe.for_log(source))}</pre>"


def safe_notebook(submitted: Path, release: Path):
    """The student's notebook as formgrader may render it, or None if it cannot be read.

    Grade cells keep the release's nbgrader metadata by ``grade_id`` (a student cannot add points
    or grade cells), locked cells the release's source; code cells lose their outputs, markdown
    cells anything active, raw cells become their text, escaped; other metadata is dropped, tags
    kept only when they are plain names.
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
        kind = cell["cell_type"]
        new_metadata = {"tags": tags} if tags else {}
        if isinstance(grade_id, str) and grade_id in graded and grade_id not in used:
            used.add(grade_id)
            original = graded[grade_id]
            new_metadata["nbgrader"] = dict(original.metadata["nbgrader"])
            if original.metadata["nbgrader"].get("locked") and not original.metadata["nbgrader"].get(
                "solution"
            ):
                kind, source = original.cell_type, original.source
        if kind == "code":
            cells.append(nbformat.v4.new_code_cell(source, metadata=new_metadata))
        elif kind == "markdown":
            cells.append(nbformat.v4.new_markdown_cell(safe_markdown(source), metadata=new_metadata))
        else:
            cells.append(nbformat.v4.new_markdown_cell(f"<pre>{html.escape(safe.for_log(source))}</pre>",
                                                       metadata=new_metadata))  # fmt: skip
    return nbformat.v4.new_notebook(cells=cells, metadata=dict(master.metadata))


# --------------------------------------------------------------------------- gradebook


def write_gradebook(assignment: str, students: dict[str, dict]) -> list[str]:
    """Put every student's score per grade cell into nbgrader's gradebook; notes on what could not be."""
    import warnings

    from nbgrader.api import Gradebook, MissingEntry

    notes = []
    with warnings.catch_warnings(), Gradebook(paths.gradebook_url()) as gradebook:
        warnings.simplefilter("ignore")  # nbgrader's own SQLAlchemy warnings when it adds a submission
        try:
            gradebook.find_assignment(assignment)
        except MissingEntry:
            return [
                f"the gradebook has no assignment {assignment!r} yet (run `make release`); scores not recorded there"
            ]
        for student, result in students.items():
            if result.get("missing") or result.get("refused"):
                continue
            try:
                gradebook.update_or_create_student(student)
                gradebook.update_or_create_submission(assignment, student)
                by_cell: dict[str, float] = {}
                for check in result["checks"]:
                    if check.get("cell") and check.get("counted", True):
                        by_cell[check["cell"]] = by_cell.get(check["cell"], 0.0) + check["points"]
                for cell, points in by_cell.items():
                    grade = gradebook.find_grade(cell, assignment, assignment, student)
                    grade.auto_score = points
                gradebook.db.commit()
            except Exception as error:  # noqa: BLE001 - one student's row failing never loses the others'
                gradebook.db.rollback()
                notes.append(f"{student}: not recorded in the gradebook ({type(error).__name__})")
    return notes


# --------------------------------------------------------------------------- the class


def _note(student: str, result: dict, outcome) -> str:
    if result.get("missing"):
        return result["missing"]
    if result.get("refused"):
        return f"refused: {result['refused']}"
    if result.get("infrastructure"):
        return "grading incomplete: a problem on the grading machine (see its log)"
    if student not in outcome.graded_now:
        return "unchanged since last run"
    return ""


def class_csv(outcome) -> str:
    names: list[str] = []
    for result in outcome.students.values():
        for check in result["checks"]:
            if check["name"] not in names:
                names.append(check["name"])
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([safe.for_csv(cell) for cell in ["student", "score", "max_score", *names, "note"]])
    for student, result in sorted(outcome.students.items()):
        points = {c["name"]: c["points"] for c in result["checks"]}
        row = [student, result["score"], result["max_score"], *(points.get(n, 0) for n in names),
               _note(student, result, outcome)]  # fmt: skip
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
    from markupsafe import Markup

    students = sorted(outcome.students.items())
    max_score = max((r["max_score"] for _, r in students), default=0.0)
    scores = [r["score"] for _, r in students]
    rows = [
        {"student": safe.for_log(s), "score": f"{r['score']:g}", "max_score": f"{r['max_score']:g}",
         "passed": sum(c["passed"] for c in r["checks"]), "checks": len(r["checks"]),
         "note": safe.for_log(_note(s, r, outcome))}
        for s, r in students
    ]  # fmt: skip
    rates: dict[str, list[bool]] = {}
    for _, result in students:
        for check in result["checks"]:
            rates.setdefault(check["name"], []).append(check["passed"])
    return TEMPLATES.get_template("report.html.j2").render(
        assignment=outcome.assignment, students=rows, max_score=f"{max_score:g}",
        mean=f"{sum(scores) / max(len(scores), 1):.2f}",
        problems=len(outcome.infrastructure),
        histogram=Markup(_histogram_svg(scores, max_score)) if students else "",
        refused=[(safe.for_log(name), safe.for_log(why)) for name, why in sorted(outcome.refused.items())],
        rates=[(safe.for_log(name), f"{100 * sum(v) / len(v):.0f}") for name, v in rates.items()],
    )  # fmt: skip


def print_table(outcome) -> None:
    table = Table(title=Text(f"{outcome.assignment}: {len(outcome.students)} students"))
    for column in ("student", "score", "checks passed", "note"):
        table.add_column(column)
    for student, result in sorted(outcome.students.items()):
        passed = sum(c["passed"] for c in result["checks"])
        table.add_row(
            Text(safe.for_terminal(student, 64)),
            Text(f"{result['score']:g} / {result['max_score']:g}"),
            Text(f"{passed} / {len(result['checks'])}"),
            Text(safe.for_terminal(_note(student, result, outcome), 120)),
        )
    console.print(table)
    for name, why in sorted(outcome.refused.items()):
        console.print(Text(f"not graded: {safe.for_terminal(name, 64)}: {safe.for_terminal(why, 200)}"))


def write_all(outcome, submissions: Path, json_path: Path | None, html_path: Path | None) -> None:
    """The class-level outputs: gradebook, CSV, HTML, optional JSON, and the printed table.

    Each is written on its own: one that fails is reported and the others are still written.
    """
    folder = paths.reports() / outcome.assignment
    folder.mkdir(parents=True, exist_ok=True)
    notes = []

    def attempt(what: str, write) -> None:
        try:
            write()
        except Exception as error:  # noqa: BLE001 - say so and write the rest
            notes.append(
                f"{what} could not be written ({type(error).__name__}: {safe.for_terminal(error, 200)})"
            )

    attempt("the class CSV", lambda: (folder / "grades.csv").write_text(class_csv(outcome), encoding="utf-8"))

    def write_html():
        page = class_html(outcome)
        (folder / "report.html").write_text(page, encoding="utf-8")
        if html_path:
            Path(html_path).write_text(page, encoding="utf-8")

    attempt("the HTML report", write_html)
    if json_path:
        attempt(
            "the JSON results", lambda: Path(json_path).write_text(json.dumps(outcome.to_json(), indent=2))
        )
    attempt("the gradebook", lambda: notes.extend(write_gradebook(outcome.assignment, outcome.students)))
    attempt("the table", lambda: print_table(outcome))
    for student in outcome.infrastructure:
        notes.append(f"{student}: grading incomplete (a problem on the grading machine; see its grading.log)")
    for note in notes:
        console.print(Text(f"note: {safe.for_terminal(note, 400)}", style="yellow"))
    console.print(Text(f"class CSV: {folder / 'grades.csv'}"))
    console.print(Text(f"report:    {html_path or folder / 'report.html'}"))
