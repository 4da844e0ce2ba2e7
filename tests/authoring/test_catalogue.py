"""Do the graders give full marks to correct variants and take points from every known wrong answer?"""

import re

import pytest

from tpdl import grading
from tpdl.authoring import catalogue, editions, samples
from tpdl.core import paths
from tpdl.judge import sandbox

CATALOGUE = paths.course_dir() / "tests" / "catalogue"
ENTRIES = [
    pytest.param(assignment.name, entry, id=f"{assignment.name}/{entry.id}")
    for assignment in sorted(CATALOGUE.iterdir())
    for entry in catalogue.entries(assignment)
]


def grade(zygote, tmp_path, assignment, entry):
    """Grade the variant on the checks ``catalogue.graded_checks`` gives, of the cells it names, of the cell
    it changes, or of all of them."""
    reference = paths.sample_submission("reference", assignment)
    submission = catalogue.build(entry, reference, tmp_path / assignment, f"{assignment}.ipynb")
    cells = catalogue.graded_cells(entry, reference / f"{assignment}.ipynb")
    checks = catalogue.graded_checks(entry)
    result, _ = grading.grade_submission(zygote, assignment, submission, cells=cells, checks=checks)
    assert result.checks, "no check ran"
    missing = (checks or set()) - {check.name for check in result.checks}
    assert not missing, f"the entry names checks that do not exist: {missing}"
    return result


@pytest.mark.slow
@pytest.mark.parametrize(("assignment", "entry"), ENTRIES)
def test_variant_is_graded_as_catalogued(zygote, tmp_path, assignment, entry):
    result = grade(zygote, tmp_path, assignment, entry)
    checks = {check.name: check for check in result.checks}
    if entry.expect == "pass":
        failed = {name: c.message for name, c in checks.items() if not c.passed and c.counted}
        assert not failed, f"a correct variant lost points: {failed}"
        return
    unknown = set(entry.loses) - set(checks)
    assert not unknown, f"the entry names checks that do not exist: {unknown}"
    uncounted = [checks[name].message for name in entry.loses if not checks[name].counted]
    if uncounted:  # a check this machine cannot run (no Docker engine, no MNIST training set)
        pytest.skip(uncounted[0])
    kept = [name for name in entry.loses if checks[name].passed]
    assert not kept, f"the wrong answer kept the points of {kept}"
    assert result.score < result.max_score


def measured_alike(message: str) -> str:
    """A check's message without its measurements (a latency, an accuracy on images drawn afresh for
    each grading), which differ between two gradings of the same work."""
    return re.sub(r"\d+(?:[.,]\d+)*", "#", message)


@pytest.fixture(scope="module")
def graded_as_the_class_is():
    """A sandbox with the limits a class is graded with (``sandbox.Limits()``): a reference graded
    whole must not lose a check to the tests' tight answer time on a machine busy with other tests."""
    with sandbox.Zygote(sandbox.Limits()) as jail:
        yield jail


@pytest.mark.slow
@pytest.mark.parametrize("tp", paths.assignments())
def test_the_reference_earns_every_point_of_every_grader_in_both_editions(graded_as_the_class_is, tp):
    """The reference, graded whole (every grader, in the order the judge runs them): a check that
    disturbs another (a worker it replaces, a fixture it shares) shows here and not on one cell. The
    French edition's reference, graded the same way, earns exactly the same checks, with the same
    messages but for what is measured afresh each time."""
    graded = {}
    for assignment in (tp, *(edition.assignment for edition in editions.translations(tp))):
        student = samples.reference_student(assignment)
        result, __ = grading.grade_submission(
            graded_as_the_class_is, assignment, paths.sample_submission(student, assignment)
        )
        failed = {c.name: c.message for c in result.checks if not c.passed and c.counted}
        assert not failed, f"the reference of {assignment} lost points: {failed}"
        assert result.score == result.max_score > 0
        graded[assignment] = [
            (c.name, c.points, c.max_points, c.passed, c.counted, measured_alike(c.message))
            for c in result.checks
        ]
    english = graded.pop(tp)
    for assignment, checks in graded.items():
        assert checks == english, f"{assignment} is graded differently from {tp}"


def test_catalogue_covers_every_graded_function_both_ways():
    """Has every solution cell of every assignment a failing and a passing variant?"""
    for assignment in paths.assignments():
        reference = paths.sample_submission("reference", assignment) / f"{assignment}.ipynb"
        entries = catalogue.entries(CATALOGUE / assignment)
        for grade_id in catalogue.solution_cells(reference):
            kinds = {e.expect for e in entries if e.target == grade_id}
            assert kinds >= {"pass", "fail"}, (
                f"{assignment}/{grade_id} lacks a {'pass' if 'fail' in kinds else 'fail'} variant"
            )


WHOLE_SOLUTIONS_PER_TP = 3


@pytest.mark.parametrize("assignment", paths.assignments())
def test_whole_solutions_answer_every_cell(assignment):
    """Each TP has independent whole solutions, and each answers every solution cell of the release."""
    release = paths.course_dir() / "release" / assignment / f"{assignment}.ipynb"
    cells = catalogue.solution_cells(release)
    whole = [e for e in catalogue.entries(CATALOGUE / assignment) if e.target == catalogue.WHOLE]
    assert len(whole) >= WHOLE_SOLUTIONS_PER_TP, f"{assignment} has {len(whole)} whole solutions"
    for entry in whole:
        answered = set(catalogue.sections(entry))
        assert cells <= answered, f"{entry.id} leaves {sorted(cells - answered)} unanswered"


def test_a_wrong_answer_is_graded_on_what_it_loses_a_correct_one_on_what_it_names_or_all(tmp_path):
    entry = tmp_path / "mlflow.db--fail--half-named.py"
    entry.write_text(
        '"""Half named.\n\napply: edit\nchecks: a\nloses: a, b\n"""\n\n\ndef edit(folder):\n    pass\n'
    )
    with pytest.raises(ValueError, match="a failing one is graded on those of 'loses:'"):
        catalogue.load(entry)
    entry.write_text(entry.read_text().replace("checks: a\n", ""))
    assert catalogue.graded_checks(catalogue.load(entry)) == {"a", "b"}, "a wrong answer: what it loses"
    correct = tmp_path / "mlflow.db--pass--named.py"
    correct.write_text('"""Named.\n\napply: edit\nchecks: a, b, c\n"""\n\n\ndef edit(folder):\n    pass\n')
    assert catalogue.graded_checks(catalogue.load(correct)) == {"a", "b", "c"}
    correct.write_text(correct.read_text().replace("checks: a, b, c\n", ""))
    assert catalogue.graded_checks(catalogue.load(correct)) is None, "a correct answer: every check"
