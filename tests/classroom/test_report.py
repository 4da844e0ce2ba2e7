"""Does every output escape what students control, for the medium it is written to?"""

import csv
import html
import io
import re

import nbformat
import pytest

from tpdl.authoring import exercises
from tpdl.classroom import report
from tpdl.classroom import run as classroom
from tpdl.core import paths, safe

HOSTILE = "\x1b]2;title\x07\x1b[2J\u202eevil <script>alert(1)</script> [bold]markup[/] =1+1 \udcff"


def test_the_terminal_never_receives_a_control_character():
    line = safe.for_terminal(HOSTILE)
    assert not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F or c == "\u202e" for c in line)
    assert "\\x1b" in line and "\\u202e" in line, "the escapes are shown, not dropped"


@pytest.mark.parametrize("cell", ["=1+1", "+1", "-1+2", "@SUM(A1)", "\t=1", "\r=1", "|cmd"])
def test_a_csv_cell_is_never_a_formula(cell):
    assert safe.for_csv(cell).startswith("'")


def test_numbers_stay_numbers_in_the_csv():
    assert safe.for_csv(-1.5) == -1.5 and safe.for_csv(3) == 3


def result_of(message: str, student: str = "alice") -> dict:
    return {
        "student": student,
        "assignment": "tp1",
        "score": 0.0,
        "max_score": 1.0,
        "notes": [message],
        "checks": [{"name": "check", "points": 0.0, "max_points": 1.0, "passed": False, "message": message}],
        "notebook": {"cells": [{"cell": 1, "status": "error", "message": message}]},
    }


def test_the_feedback_page_escapes_messages_and_drops_control_characters():
    page = report.feedback_html(result_of(HOSTILE))
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "\x1b" not in page and "\u202e" not in page and "\udcff" not in page
    page.encode("utf-8")


def test_the_class_outputs_escape_ids_notes_and_refused_folders():
    outcome = classroom.ClassResult("tp1")
    outcome.students["alice"] = {**result_of(HOSTILE), "missing": "=HYPERLINK(x) <b>"}
    outcome.refused[safe.for_log("=cmd|' /C calc'!A0")] = "not a student id <script>"
    rows = list(csv.reader(io.StringIO(report.class_csv(outcome))))
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)
    page = report.class_html(outcome)
    assert "<script>" not in page and "<b>" not in page and "&lt;b&gt;" in page


def test_rich_markup_in_data_is_printed_as_text(capsys):
    outcome = classroom.ClassResult("tp1")
    outcome.students["alice"] = {
        **result_of("x"),
        "missing": "[link=file:///etc/passwd]click[/link] \x1b[31m",
    }
    outcome.refused["[bold red]x"] = "[blink]why"
    report.print_table(outcome)
    printed = capsys.readouterr().out
    assert "[link=file:///etc/passwd]click[/link]" in printed and "[blink]why" in printed
    assert "\x1b[31m" not in printed


def test_the_graded_notebook_holds_no_output_and_no_active_markdown(tmp_path, released):
    release = paths.release("tp1") / "tp1.ipynb"
    notebook = nbformat.read(release, as_version=4)
    grade_cells = [c for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade")]
    locked = next(c for c in grade_cells if c.metadata["nbgrader"].get("locked"))
    locked.source = "print('the tests, rewritten by the student')"
    locked.metadata["nbgrader"]["points"] = 1000
    notebook.cells[
        0
    ].source = "<img src=x onerror=alert(1)> [x](javascript:alert(2)) <script>alert(3)</script> kept"
    code = next(c for c in notebook.cells if c.cell_type == "code")
    code.outputs = [nbformat.v4.new_output("display_data", data={"text/html": "<script>alert(4)</script>"})]
    code.metadata["tags"] = ['"><img src=x onerror=alert(5)>', "skip-grading"]
    notebook.cells.append(
        nbformat.v4.new_raw_cell("<script>alert(6)</script>", metadata={"raw_mimetype": "text/html"})
    )
    submitted = tmp_path / "tp1.ipynb"
    nbformat.write(notebook, submitted)
    safe_copy = report.safe_notebook(submitted, release)
    text = nbformat.writes(safe_copy)
    for active in ("onerror", "javascript:", "<script", "alert(4)"):
        assert active not in text.replace("&lt;script", ""), active
    assert "kept" in text
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in safe_copy.cells}
    restored = cells[locked.metadata["nbgrader"]["grade_id"]]
    assert restored.metadata["nbgrader"]["points"] != 1000, "points come from the release"
    assert "rewritten by the student" not in restored.source, "locked cells keep the release's source"
    assert all(not c.get("outputs") for c in safe_copy.cells if c.cell_type == "code")
    assert all(c.metadata.get("tags", []) in ([], ["skip-grading"]) for c in safe_copy.cells)
    assert all("raw_mimetype" not in c.metadata for c in safe_copy.cells)


def test_markdown_that_an_html_block_hid_is_no_link_when_formgrader_renders_it_again():
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    hidden = (
        '<a href="javascript:alert(1)">one</a> and [two](javascript:alert(2))\n<p onclick="x()">three</p>'
    )
    cleaned = report.safe_markdown(hidden)
    for rendering in (cleaned, markdown2html_mistune(cleaned)):  # nbgrader's formgrade renders it once more
        assert "javascript:" not in rendering and "onclick" not in rendering
    assert "two" in cleaned and "three" in cleaned


def test_markdown_keeps_no_mathjax_command_that_makes_a_link():
    page = report.safe_markdown(r"Look: $\href{javascript:alert(7)}{here}$ and $\class{x}{y}$, $x^2$")
    assert "\\href" not in page and "\\class" not in page and "$x^2$" in page


@pytest.mark.parametrize(
    "formula",
    [
        r'$$\mmlToken{mi}[style="cursor:url(http://beacon.example/x.png), auto"]{g}$$',
        r"$\bbox[background:url(http://beacon.example/b.png)]{x}$",
        r"$\enclose{circle}[style=background:url(http://beacon.example/e.png)]{x}$",
    ],
)
def test_markdown_keeps_no_mathjax_command_that_styles_a_formula(formula):
    """Is a MathJax command that gives a formula a style (a CSS url() the instructor's browser
    would load) written out as text?"""
    page = report.safe_markdown(f"Look: {formula}, and $x^2$")
    assert not re.search(r"\\(mmlToken|bbox|enclose)\b", page) and "$x^2$" in page


def release_grade_cells(assignment: str) -> list[str]:
    """The release notebook's autograded code cells, in notebook order."""
    import nbformat

    notebook = nbformat.read(paths.release(assignment) / f"{assignment}.ipynb", as_version=4)
    return [
        c.metadata["nbgrader"]["grade_id"]
        for c in notebook.cells
        if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"
    ]


@pytest.mark.parametrize("assignment", paths.assignments())
def test_feedback_lists_checks_under_their_exercises_in_notebook_order(released, assignment):
    """Graders run file by file (TP2: batch norm before SGD); feedback follows the notebook."""
    cells = release_grade_cells(assignment)
    checks = [
        {
            "name": f"check_of_{cell}",
            "cell": cell,
            "points": 1.0,
            "max_points": 2.0,
            "passed": False,
            "message": f"message of {cell}",
        }
        for cell in sorted(cells)
    ]
    result = {
        "student": "alice",
        "assignment": assignment,
        "score": len(cells),
        "max_score": 2 * len(cells),
        "checks": checks,
        "notebook": {"cells": []},
    }
    page = html.unescape(report.feedback_html(result))
    sections = exercises.of_assignment(assignment)
    positions = [page.index(f"check_of_{cell}") for cell in cells]
    assert positions == sorted(positions), "the checks should follow the notebook's grade cells"
    for section in sections:
        if not any(cell in cells for cell in section.cells):
            continue
        heading = page.index(html.unescape(report.heading_html(section.heading)))
        assert all(heading < page.index(f"check_of_{cell}") for cell in section.cells if cell in cells)
    numbered = [s for s in sections if s.number]
    assert numbered and all(f"{s.number} — " in page for s in numbered)
    assert "Other checks" not in page
    assert "`" not in "".join(re.findall(r"<h3>(.*?)</h3>", page)), "a heading shows its markdown"


def test_a_heading_renders_its_inline_markdown_and_nothing_active():
    heading = "Exercise 1 — `sgd_step` and *x* <script>alert(1)</script> [l](javascript:x)"
    rendered = report.heading_html(heading)
    assert rendered.startswith("Exercise 1 — <code>sgd_step</code> and <em>x</em>")
    assert "<script" not in rendered and "<a" not in rendered and "javascript:" not in rendered
    assert rendered.endswith(" alert(1) l"), "what a tag or a link held is kept as text"


def graded_class(assignment: str):
    """A class of three whose checks come in the reverse of the notebook's order; its grade cells."""
    cells = release_grade_cells(assignment)
    checks = [
        {
            "name": f"check_of_{cell}",
            "cell": cell,
            "points": 1.0,
            "max_points": 1.0,
            "passed": True,
            "message": "",
        }
        for cell in reversed(cells)
    ]
    outcome = classroom.ClassResult(assignment)
    for student in ("alice", "bob", "carol"):
        outcome.students[student] = {
            "student": student,
            "assignment": assignment,
            "score": len(cells),
            "max_score": len(cells),
            "checks": checks,
            "notebook": {"cells": []},
        }
        outcome.graded_now.append(student)
    return outcome, cells


def test_the_class_report_and_csv_list_checks_in_notebook_order(released):
    outcome, cells = graded_class("tp2")
    expected = [f"check_of_{cell}" for cell in cells]
    assert report.check_names(outcome) == expected
    header = next(csv.reader(io.StringIO(report.class_csv(outcome))))
    assert [name for name in header if name.startswith("check_of_")] == expected
    page = report.class_html(outcome)
    assert sorted(expected, key=page.index) == expected


def test_the_table_the_report_and_the_csv_say_what_to_act_on(released, capsys, monkeypatch):
    from tpdl.classroom import gradebook

    outcome, _cells = graded_class("tp2")
    outcome.students["alice"].update(internal_errors=2)
    outcome.students["bob"].update(missing_files=["mlflow.db"])
    outcome.totals["carol"] = gradebook.Totals(
        automatic=3.0,
        late_penalty=2.0,
        score=1.0,
        max_score=6.0,
        waiting=[gradebook.Waiting("analysis", 3.0, "graded by hand")],
    )
    expected = {
        "alice": "internal error of the graders in 2 check(s)",
        "bob": "missing deliverable: mlflow.db",
        "carol": "late: 2 points off; 3 points wait for grading in formgrader: analysis (3)",
    }
    monkeypatch.setattr(report.console, "width", 300)  # one line a student
    report.print_table(outcome)
    table = {line.split()[1]: line for line in capsys.readouterr().out.splitlines() if line.startswith("│ ")}
    rows = {row["student"]: row["note"] for row in csv.DictReader(io.StringIO(report.class_csv(outcome)))}
    page = html.unescape(report.class_html(outcome))
    for student, note in expected.items():
        assert note in rows[student], f"the CSV's note for {student}: {rows[student]!r}"
        assert note in page, f"the report's note for {student}"
        assert note in table[student], f"the table's note for {student}: {table[student]!r}"


def test_exercises_are_read_from_the_headings():
    import nbformat

    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("# TP\n\n## Exercise 2 — `dice` (5 points)\n\ntext"),
            nbformat.v4.new_code_cell(
                "", metadata={"nbgrader": {"grade": True, "grade_id": "dice_tests", "points": 5}}
            ),
            nbformat.v4.new_markdown_cell("## The saved model (3 points)"),
            nbformat.v4.new_code_cell(
                "", metadata={"nbgrader": {"grade": True, "grade_id": "a", "points": 1}}
            ),
            nbformat.v4.new_code_cell(
                "", metadata={"nbgrader": {"grade": True, "grade_id": "b", "points": 2}}
            ),
            nbformat.v4.new_markdown_cell("## Analysis (3 points, graded by hand)"),
        ]
    )
    found = [(e.number, e.title, e.cells, e.points) for e in exercises.of_notebook(notebook)]
    assert found == [("Exercise 2", "`dice`", ["dice_tests"], 5.0), ("", "The saved model", ["a", "b"], 3.0)]


def docker_not_run_class() -> classroom.ClassResult:
    """TP1's judged results as the judge makes them where no Docker engine runs (its two Docker
    checks skipped, so not counted): one student graded apart (no gradebook), one recorded in the
    gradebook, where a cell's check could not run and so waits to be graded."""
    from tpdl.classroom import gradebook
    from tpdl.judge import protocol

    def check(name: str, cell: str, points: float, counted: bool = True) -> dict:
        return {
            "name": name,
            "cell": cell,
            "points": points if counted else 0.0,
            "max_points": 1.0,
            "passed": counted and points == 1.0,
            "message": "" if counted else "not run (not counted)",
            "counted": counted,
        }

    checks = [
        check("app_health", "app_tests", 1.0),
        check("app_predicts_one_image", "app_tests", 0.0),
        check("docker_image_builds", "docker_tests", 0.0, counted=False),
        check("docker_image_serves_as_a_non_root_user", "docker_tests", 0.0, counted=False),
    ]
    outcome = classroom.ClassResult("tp1")
    for student in ("alice", "bob"):
        result = {
            "student": student,
            "assignment": "tp1",
            "score": 1.0,
            "max_score": 2.0,
            "checks": checks,
            "notebook": {"cells": []},
            "seconds": 1.0,
            "internal_errors": 0,
        }
        protocol.GradedResult.model_validate(result)  # the judge's own result, as the cluster checks it
        outcome.students[student] = result
    outcome.totals["bob"] = gradebook.Totals(
        automatic=1.0,
        score=1.0,
        max_score=7.0,
        waiting=[
            gradebook.Waiting("docker_tests", 2.0, "not measured on the grading machine"),
            gradebook.Waiting("analysis", 3.0, "graded by hand"),
        ],
    )
    return outcome


def test_the_json_the_csv_the_table_and_the_feedback_agree_on_the_maximum(capsys, monkeypatch):
    """Do the four outputs give one maximum and the same points not counted, shown apart?"""
    from tpdl.classroom import gradebook

    outcome = docker_not_run_class()
    expected = {"alice": (4.0, 2.0), "bob": (7.0, 5.0)}  # (max_score, not counted)
    for student, (most, apart) in expected.items():
        assert gradebook.maximum(outcome.students[student], outcome.totals.get(student)) == (
            gradebook.Maximum(most, apart)
        )
    as_json = outcome.to_json()["students"]
    rows = {row["student"]: row for row in csv.DictReader(io.StringIO(report.class_csv(outcome)))}
    monkeypatch.setattr(report.console, "width", 300)
    report.print_table(outcome)
    table = {line.split()[1]: line for line in capsys.readouterr().out.splitlines() if line.startswith("│ ")}
    page = html.unescape(report.class_html(outcome))
    for student, (most, apart) in expected.items():
        assert (as_json[student]["max_score"], as_json[student]["not_counted"]) == (most, apart), student
        assert (float(rows[student]["max_score"]), float(rows[student]["not_counted"])) == (most, apart)
        assert f"1 / {most:g} ({apart:g} not counted)" in table[student], table[student]
        assert f"1 / {most:g} ({apart:g} not counted)" in page
        feedback = html.unescape(report.feedback_html(outcome.students[student], outcome.totals.get(student)))
        headline = "Total" if student in outcome.totals else "Score"
        assert f"{headline}: 1 / {most:g}" in feedback, feedback
        assert f"{apart:g} points" in feedback and "not counted" in feedback
    bob = html.unescape(report.feedback_html(outcome.students["bob"], outcome.totals["bob"]))
    assert "Checks graded by the judge: 1 / 4" in bob, "the judge's part, out of all its checks too"
