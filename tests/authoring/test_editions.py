"""Is each TP's French edition the same notebook as its English source, in French, and released,
published and spoken to as its own language?"""

import json
import os

import jupytext
import nbformat
import pytest

from tpdl.authoring import editions, exercises, publish, samples
from tpdl.classroom import lab
from tpdl.core import i18n, manifest, paths
from tpdl.grading import check

TPS = paths.assignments()
NBSP = "\u00a0"


def test_every_tp_has_a_french_edition_named_for_nbgrader():
    assert paths.editions() == sorted([*TPS, *(f"{tp}-fr" for tp in TPS)])
    for tp in TPS:
        assert [e.assignment for e in editions.translations(tp)] == [f"{tp}-fr"]
        assert paths.tp_of(f"{tp}-fr") == tp and paths.language_of(f"{tp}-fr") == "fr"
        assert paths.graders(f"{tp}-fr") == paths.graders(tp), "every edition is graded by its TP's graders"


@pytest.mark.parametrize("tp", TPS)
def test_the_french_edition_is_the_source_cell_for_cell(tp):
    """Same cells, metadata (grade ids, points, locks), markers and code; markdown with the same code,
    formulas, headings and points."""
    assert editions.differences(tp) == []


@pytest.mark.parametrize("tp", TPS)
def test_no_english_is_left_in_the_french_edition(tp):
    assert editions.english_left(tp) == []


@pytest.mark.parametrize("tp", TPS)
def test_every_markdown_cell_of_the_french_edition_is_translated(tp):
    english = jupytext.read(paths.source(tp) / f"{tp}.nb.py")
    french = jupytext.read(paths.source(f"{tp}-fr") / f"{tp}-fr.nb.py")
    same = [
        i
        for i, (a, b) in enumerate(zip(english.cells, french.cells), start=1)
        if a.cell_type == "markdown" and a.source == b.source
    ]
    assert not same, f"markdown cells left as in the English source: {same}"


# --------------------------------------------------------------------------- the checker's own catches

SOURCE = """\
# %% [markdown]
# ## Exercise 1 — `double` (2 points)
#
# Return `2 * x`, as $y = 2x$.

# %% nbgrader={"grade": false, "grade_id": "double", "locked": false, "schema_version": 3, "solution": true}
def double(x):
    \"\"\"Twice ``x``.\"\"\"
    ### BEGIN SOLUTION
    return 2 * x  # the simplest way
    ### END SOLUTION

# %% nbgrader={"grade": true, "grade_id": "double_tests", "locked": true, "points": 2, "schema_version": 3}
assert double(2) == 4, "double(2) should be 4"
print(f"double: {double(2):.1f} checked")
"""

FRENCH = (
    SOURCE.replace("## Exercise 1", "## Exercice 1")
    .replace("Return `2 * x`, as", f"Renvoyez `2 * x`, soit{NBSP}")
    .replace('"""Twice ``x``."""', '"""Le double de ``x``."""')
    .replace("# the simplest way", "# le plus simple")
    .replace('"double(2) should be 4"', '"double(2) devrait valoir 4"')
    .replace('f"double: {double(2):.1f} checked"', f'f"double{NBSP}: {{double(2):.1f}} vérifié"')
)


def compared(french: str) -> list[str]:
    return editions.compare_notebooks(
        jupytext.reads(SOURCE, fmt="py:percent"), jupytext.reads(french, fmt="py:percent")
    )


def test_a_faithful_translation_passes():
    assert compared(FRENCH) == []


@pytest.mark.parametrize(
    ("change", "found"),
    [
        (("return 2 * x", "return x + x"), "the code differs"),
        (("### END SOLUTION", "### END"), "markers differ"),
        (('"points": 2', '"points": 3'), "metadata"),
        (('"grade_id": "double_tests"', '"grade_id": "double_test"'), "metadata"),
        (("`2 * x`", "`x * 2`"), "inline code differ"),
        (("$y = 2x$", "$y = x$"), "formulas differ"),
        (("(2 points)", "(3 points)"), "points differ"),
        (("{double(2):.1f}", "{double(2):.2f}"), "the code differs"),
        (("assert double(2) == 4", "assert double(2) == 5"), "the code differs"),
    ],
)
def test_a_translation_that_changes_more_than_words_is_caught(change, found):
    problems = compared(FRENCH.replace(*change))
    assert any(found in p for p in problems), problems


def test_a_line_marked_i18n_holds_texts_in_both_editions_only():
    """Labels that reach a figure through a variable are translated where both editions mark their line."""
    source = 'for title in ("content", "style"):  # i18n\n    axis.set_title(title)\n'
    french = source.replace('"content"', '"contenu"')
    assert editions.code_shape(source) == editions.code_shape(french)
    unmarked = french.replace("  # i18n", "")
    assert editions.code_shape(source) != editions.code_shape(unmarked), "marked in one edition only"
    assert editions.code_shape(source.replace("  # i18n", "")) != editions.code_shape(unmarked)
    assert editions.reader_texts(french) == ["contenu", "style"]


def test_a_translation_that_drops_a_cell_is_caught():
    shorter = FRENCH[: FRENCH.index('# %% nbgrader={"grade": true')]
    assert any("cells where the source has" in p for p in compared(shorter))


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("Return the sum of the weights for each layer.", "reads as English"),
        ("Renvoyez la somme: elle est positive.", "non-breaking space"),
        ("Renvoyez la somme : elle est positive.", "non-breaking one"),
        ('Le mot "couche" désigne...', "French quotes"),
        (f"L'exactitude atteint 97.83{NBSP}%.", "decimal comma"),
        ("MNIST compte 70,000 images.", "thousands"),
        ("L'exactitude atteint 97,83%.", "before %"),
    ],
)
def test_the_lint_finds_english_and_broken_typography(text, found):
    assert any(found in p for p in editions.lint_text(text)), editions.lint_text(text)


@pytest.mark.parametrize(
    "text",
    [
        f"Renvoyez la somme{NBSP}: elle est positive{NBSP}; vérifiez-la{NBSP}!",
        f"L'exactitude atteint 97,83{NBSP}% sur 70\u202f000 images, voir «{NBSP}couche{NBSP}».",
        "Appelez `model.predict(x)` sur `0.5` : le code n'est pas relu.",
        'Le titre <span lang="en">Deep Residual Learning for Image Recognition</span> reste en anglais.',
    ],
)
def test_the_lint_keeps_french_code_and_marked_english(text):
    kept = text.replace(" : le code", f"{NBSP}: le code")
    assert editions.lint_text(kept) == []


def test_the_texts_a_student_reads_are_those_the_lint_reads():
    code = (
        'x = f(1)  # the comment\nassert x, "the message"\n'
        'print(f"value: {x:.2%} of the rest")\nmodel.compile("adam")\n'
    )
    texts = editions.reader_texts(code)
    assert texts[:2] == ["the comment", "the message"] and texts[2].split() == ["value:", "of", "the", "rest"]
    assert len(texts) == 3, "a string the program uses is not a text to translate"


# --------------------------------------------------------------------------- released, spoken, shown


def test_the_french_editions_own_manifest_hands_in_its_own_notebook():
    english, french = manifest.load("tp1"), manifest.load("tp1-fr")
    assert french.deliverables[0] == "tp1-fr.ipynb" and english.deliverables[0] == "tp1.ipynb"
    assert french.deliverables[1:] == english.deliverables[1:] and french.points == english.points
    assert check.handin("tp1-fr")["language"] == "fr" and check.handin("tp1")["language"] == "en"


def test_the_french_release_speaks_french_in_its_folder(released, monkeypatch):
    monkeypatch.delenv(i18n.ENV, raising=False)
    monkeypatch.chdir(released["tp2-fr"])
    assert i18n.language() == "fr"
    assert json.loads((released["tp2-fr"] / "handin.json").read_text())["language"] == "fr"
    monkeypatch.setenv(i18n.ENV, "en")
    assert i18n.language() == "en", "TPDL_LANG still decides for one command"
    monkeypatch.delenv(i18n.ENV)
    monkeypatch.chdir(released["tp2"])
    assert i18n.language() == i18n.config.kit().language


def test_a_hostile_handin_json_leaves_the_course_language(tmp_path, monkeypatch):
    monkeypatch.delenv(i18n.ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    for content in ('{"language": "xx"}', "[1, 2]", "not json", '{"language": ' + '"fr"' * 40000 + "}"):
        (tmp_path / "handin.json").write_text(content)
        assert i18n.language() == i18n.config.kit().language, content
    (tmp_path / "handin.json").unlink()
    for target in ("/dev/zero", "/dev/urandom", str(tmp_path)):  # never read endlessly, never followed
        (tmp_path / "handin.json").unlink(missing_ok=True)
        (tmp_path / "handin.json").symlink_to(target)
        assert i18n.language() == i18n.config.kit().language, target
    (tmp_path / "handin.json").unlink()
    os.mkfifo(tmp_path / "handin.json")  # a pipe nobody writes to: not waited for
    assert i18n.language() == i18n.config.kit().language


@pytest.mark.parametrize("tp", TPS)
def test_the_french_release_has_the_same_grade_cells_under_french_headings(released, tp):
    english = exercises.of_assignment(tp)
    french = exercises.of_assignment(f"{tp}-fr")
    assert [(e.cells, e.points) for e in french] == [(e.cells, e.points) for e in english]
    numbered = [e for e in french if e.number]
    assert numbered and all(e.number.startswith("Exercice ") for e in numbered)
    assert exercises.of_assignment(tp, "fr") == french, "feedback in French shows the French headings"
    assert exercises.of_assignment(f"{tp}-fr", "en") == english
    release = nbformat.read(released[f"{tp}-fr"] / f"{tp}-fr.ipynb", as_version=4)
    checksums = [c.metadata["nbgrader"].get("checksum") for c in release.cells if "nbgrader" in c.metadata]
    assert checksums and all(checksums), "nbgrader's checksums cover the French release too"


def test_the_sample_class_has_a_french_reference_student():
    for tp in TPS:
        assert samples.students(f"{tp}-fr") == ("reference-fr",)
        folder = paths.sample_submission("reference-fr", f"{tp}-fr")
        assert (folder / f"{tp}-fr.ipynb").is_file()
        for name in manifest.load(tp).run_outputs:
            english = paths.sample_submission("reference", tp) / name
            if english.is_file():
                assert (folder / name).read_bytes() == english.read_bytes(), name


def test_published_branches_hold_each_edition_with_a_readme_in_its_language():
    files = {
        "tp1-fr.ipynb": publish.Blob(b"{}"),
        "handin.json": publish.Blob(b'{"deliverables": ["tp1-fr.ipynb"]}'),
    }
    readme = publish.student_readme("tp1-fr", files, "wheels/tpdl_course.whl")
    assert "Cette branche contient" in readme and f"À rendre{NBSP}: `tp1-fr.ipynb`" in readme
    assert "This branch" not in readme
    assert editions.lint_text(readme.replace("`", "")) == [] or all(
        "decimal" in p for p in editions.lint_text(readme)
    )
    overview = publish.overview_readme({"tp1": "TP1", "tp1-fr": "TP1 (fr)"}, "wheels/tpdl_course.whl")
    assert "git checkout tp1-fr" in overview and "git checkout tp1`" in overview
    assert "# Les TP du cours" in overview and "# The TPs of the course" in overview


@pytest.mark.parametrize(("language", "locale"), [("fr", "fr_FR"), ("en", "en")])
def test_jupyterlab_speaks_the_course_language(released, tmp_path, language, locale):
    lab.write(tmp_path, language)
    settings = json.loads((tmp_path / "labconfig" / "default_setting_overrides.json").read_text())
    assert settings[lab.TRANSLATION]["locale"] == locale
    opening = json.loads((tmp_path / "jupyter_server_config.json").read_text())["ServerApp"]["default_url"]
    assert opening == f"/lab/tree/release/{paths.edition(TPS[0], language)}"


def test_tpdl_check_speaks_the_edition_of_the_folder_it_checks(released, tmp_path, monkeypatch):
    """Run from anywhere (not only inside the folder), on a folder whose handin.json was lost too."""
    monkeypatch.delenv(i18n.ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    with check._speaking("tp2-fr", released["tp2-fr"]):
        assert i18n.language() == "fr"
    with check._speaking("tp2-fr", tmp_path):  # no handin.json: the edition's name says
        assert i18n.language() == "fr"
    with check._speaking("tp2", tmp_path):  # an English edition without its file: the course decides
        assert i18n.language() == i18n.config.kit().language
    assert i18n.ENV not in os.environ
    monkeypatch.setenv(i18n.ENV, "en")
    with check._speaking("tp2-fr", released["tp2-fr"]):
        assert i18n.language() == "en", "TPDL_LANG still decides"


def test_numbers_are_written_the_french_way_in_french():
    french, english = i18n.NUMBERS["fr"], i18n.NUMBERS["en"]
    values = {"n": 535818, "share": 0.9783, "seconds": 4.4, "named": "1.5", "flag": True}
    text = "{n:,} paramètres, {share:.2%}, {seconds:.1f} s, {named}, {flag}"
    assert french.vformat(text, (), values) == f"535\u202f818 paramètres, 97,83{NBSP}%, 4,4 s, 1.5, True"
    assert english.vformat(text, (), values) == "535,818 paramètres, 97.83%, 4.4 s, 1.5, True"


def test_the_french_release_validates_with_settings_that_speak_french(released):
    settings = (released["tp2-fr"] / "nbgrader_config.py").read_text()
    assert "Réglages de nbgrader" in settings and editions.reader_texts(settings, python=False)
    assert editions.lint_text("\n".join(editions.reader_texts(settings, python=False))) == []
    assert "nbgrader settings" in (released["tp2"] / "nbgrader_config.py").read_text()
