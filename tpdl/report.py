"""What the judge writes after grading: feedback, the gradebook, the class CSV, the HTML report, a table."""

import csv
import html
import io
import json
import shutil
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from tpdl import paths

console = Console(stderr=False, highlight=False)


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
                TextColumn("{task.description}"), console=Console(stderr=True), transient=False,
            )  # fmt: skip
            self.progress.start()
            self.task = self.progress.add_task("", total=total)

    def advance(self, student: str, result: dict) -> None:
        if self.progress:
            self.progress.update(
                self.task, advance=1, description=f"{student}: {result['score']:g}/{result['max_score']:g}"
            )

    def close(self) -> None:
        if self.progress:
            self.progress.stop()


def progress_bar(total: int, enabled: bool = True) -> _Bar:
    return _Bar(total, enabled)


# --------------------------------------------------------------------------- one student


def feedback_html(result: dict) -> str:
    """A student's feedback page: each check's name, points and message, nothing of the graders."""
    rows = "\n".join(
        f"<tr class='{'pass' if c['passed'] else 'fail'}'><td>{html.escape(c['name'])}</td>"
        f"<td>{'not counted' if not c.get('counted', True) else format(c['points'], 'g') + ' / ' + format(c['max_points'], 'g')}</td>"
        f"<td>{html.escape(c['message'] or 'passed')}</td></tr>"
        for c in result["checks"]
    )
    failing_cells = [c for c in result.get("notebook", {}).get("cells", []) if c.get("status") == "error"]
    cells = "".join(
        f"<li>code cell {c['cell']}: {html.escape(c.get('message', ''))}</li>" for c in failing_cells
    )
    cell_note = f"<h2>Cells that raised an error while grading</h2><ul>{cells}</ul>" if cells else ""
    missing = f"<p><strong>{html.escape(result['missing'])}</strong></p>" if result.get("missing") else ""
    title = f"{html.escape(result['assignment'])}: feedback for {html.escape(result['student'])}"
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}td,th{{padding:.3em .6em;border-bottom:1px solid #ddd;text-align:left}}
tr.pass td:nth-child(2){{color:#176317}}tr.fail td:nth-child(2){{color:#a31515}}</style></head>
<body><h1>{title}</h1>{missing}
<p>Score: <strong>{result["score"]:g} / {result["max_score"]:g}</strong></p>
<table><tr><th>check</th><th>points</th><th>message</th></tr>
{rows}
</table>{cell_note}</body></html>
"""


def write_student(result: dict, submission: Path, target: Path, log: str) -> None:
    """Feedback, the instructor's log and the graded notebook of one student."""
    target.mkdir(parents=True, exist_ok=True)
    notebook = submission / f"{result['assignment']}.ipynb"
    if notebook.is_file() and not notebook.is_symlink():
        shutil.copyfile(notebook, target / notebook.name)
    (target / "grading.log").write_text(log or "")
    feedback = paths.feedback() / result["student"] / result["assignment"]
    feedback.mkdir(parents=True, exist_ok=True)
    (feedback / "feedback.html").write_text(feedback_html(result))


# --------------------------------------------------------------------------- gradebook


def write_gradebook(assignment: str, students: dict[str, dict]) -> str | None:
    """Put every student's score per grade cell into nbgrader's gradebook; a note if it cannot."""
    import warnings

    from nbgrader.api import Gradebook, MissingEntry

    with warnings.catch_warnings(), Gradebook(paths.gradebook_url()) as gradebook:
        warnings.simplefilter("ignore")  # nbgrader's own SQLAlchemy warnings when it adds a submission
        try:
            gradebook.find_assignment(assignment)
        except MissingEntry:
            return f"the gradebook has no assignment {assignment!r} yet (run `make release`); scores not recorded there"
        for student, result in students.items():
            if result.get("missing"):
                continue
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
    return None


# --------------------------------------------------------------------------- the class


def class_csv(outcome) -> str:
    names: list[str] = []
    for result in outcome.students.values():
        for check in result["checks"]:
            if check["name"] not in names:
                names.append(check["name"])
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["student", "score", "max_score", *names])
    for student, result in sorted(outcome.students.items()):
        points = {c["name"]: c["points"] for c in result["checks"]}
        writer.writerow([student, result["score"], result["max_score"], *(points.get(n, 0) for n in names)])
    return buffer.getvalue()


def _histogram_svg(scores: list[float], max_score: float) -> str:
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
    max_score = max((r["max_score"] for _, r in students), default=0.0)
    scores = [r["score"] for _, r in students]
    rows = "\n".join(
        f"<tr><td>{html.escape(s)}</td><td>{r['score']:g} / {r['max_score']:g}</td>"
        f"<td>{sum(c['passed'] for c in r['checks'])} / {len(r['checks'])}</td>"
        f"<td>{html.escape(r.get('missing', ''))}</td></tr>"
        for s, r in students
    )
    rates: dict[str, list[bool]] = {}
    for _, result in students:
        for check in result["checks"]:
            rates.setdefault(check["name"], []).append(check["passed"])
    check_rows = "\n".join(
        f"<tr><td>{html.escape(name)}</td><td>{100 * sum(v) / len(v):.0f} %</td></tr>"
        for name, v in rates.items()
    )
    title = f"{html.escape(outcome.assignment)}: class report"
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}td,th{{padding:.3em .6em;border-bottom:1px solid #ddd;text-align:left}}</style>
</head><body><h1>{title}</h1>
<p>{len(students)} students; mean {sum(scores) / max(len(scores), 1):.2f} / {max_score:g}</p>
{_histogram_svg(scores, max_score) if students else ""}
<h2>Students</h2><table><tr><th>student</th><th>score</th><th>checks passed</th><th>note</th></tr>
{rows}</table>
<h2>Checks</h2><table><tr><th>check</th><th>passed by</th></tr>
{check_rows}</table></body></html>
"""


def print_table(outcome) -> None:
    table = Table(title=f"{outcome.assignment}: {len(outcome.students)} students")
    for column in ("student", "score", "checks passed", "note"):
        table.add_column(column)
    for student, result in sorted(outcome.students.items()):
        passed = sum(c["passed"] for c in result["checks"])
        note = result.get("missing") or ("" if student in outcome.graded_now else "unchanged since last run")
        table.add_row(
            student,
            f"{result['score']:g} / {result['max_score']:g}",
            f"{passed} / {len(result['checks'])}",
            note,
        )
    console.print(table)


def write_all(outcome, submissions: Path, json_path: Path | None, html_path: Path | None) -> None:
    """The class-level outputs: gradebook, CSV, HTML, optional JSON, and the printed table."""
    folder = paths.reports() / outcome.assignment
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "grades.csv").write_text(class_csv(outcome))
    page = class_html(outcome)
    (folder / "report.html").write_text(page)
    if html_path:
        Path(html_path).write_text(page)
    if json_path:
        Path(json_path).write_text(json.dumps(outcome.to_json(), indent=2))
    note = write_gradebook(outcome.assignment, outcome.students)
    print_table(outcome)
    if note:
        console.print(f"[yellow]note:[/yellow] {note}")
    console.print(f"class CSV: {folder / 'grades.csv'}")
    console.print(f"report:    {html_path or folder / 'report.html'}")
