"""Students' language: the catalogues cover every message, in English and in French, and no message
is built from translated fragments (``tpdl.core.i18n``, ``tpdl.authoring.messages``)."""

import html
import os
import sys
import textwrap
from pathlib import Path

import pytest

from tpdl.authoring import messages
from tpdl.classroom import report
from tpdl.core import i18n, paths

DOMAINS = messages.domains()


@pytest.fixture
def french(monkeypatch):
    monkeypatch.setenv(i18n.ENV, "fr")


def test_every_domain_of_the_course_has_messages():
    names = {d.name for d in DOMAINS}
    assert {"tpdl", "graders", *(f"graders/{a}" for a in paths.assignments())} == names
    for domain in DOMAINS:
        assert len(messages.extract(domain)) >= 10, f"{domain.name} speaks to students through its catalogue"


@pytest.mark.parametrize("domain", DOMAINS, ids=lambda d: d.name)
def test_no_message_is_built_from_fragments_nor_left_in_english(domain):
    assert messages.problems(domain) == []


@pytest.mark.parametrize("lang", i18n.LANGUAGES)
@pytest.mark.parametrize("domain", DOMAINS, ids=lambda d: d.name)
def test_each_catalogue_covers_every_message_of_its_domain(domain, lang):
    assert messages.untranslated(domain, lang) == []


def test_every_check_is_named_in_french(french):
    for assignment in paths.assignments():
        domain = next(d for d in DOMAINS if d.name == f"graders/{assignment}")
        names = i18n.domain(domain.folder)
        for message in messages.extract(domain):
            if message.context == i18n.CHECK_CONTEXT:
                assert names.check(message.id) != message.id, f"{assignment}: {message.id} has no French name"


def test_the_lint_finds_what_a_translator_could_not_translate(tmp_path):
    grader = tmp_path / "test_thing.py"
    grader.write_text(
        textwrap.dedent("""
        from tpdl.core import i18n
        _ = i18n.domain(__file__)

        def test_fragments(student, value, name):
            assert value, _("the first half") + _(" and the second")
            assert value, f"{_('a translated piece')} inside an f-string"
            assert value, " ".join([_("one piece"), _("another piece")])
            assert value, _(f"built at run time {value}")
            assert value, _(name)
            assert value, _("{value} is missing a keyword")
            assert value, _("no placeholder here", value=value)
            assert value, f"an English-only message about {name}"
            assert value, "an English-only message"
            student.note = f"an English-only note on {value}"
            lib.assert_close(value, 1, what="the English-only value")

        def test_fine(student, value):
            assert value, _("{value} is the value seen", value=value)
            assert value == "relu", _("a message with {what}", what=_("a translated value"))
            lib.assert_close(value, 1, what=_("the value of thing"))
    """)
    )
    found = messages._python_problems(grader, graders=True)
    lines = sorted(int(line.removeprefix(f"{grader.as_posix()}:").split(":")[0]) for line in found)
    assert sorted(set(lines)) == list(range(6, 17)), found
    assert sum("joined" in line or "f-string" in line for line in found) == 3
    assert any("one string literal" in line for line in found)
    assert any("fills [] but its text names ['value']" in line for line in found)


def test_the_language_comes_from_tpdl_lang(monkeypatch):
    monkeypatch.delenv(i18n.ENV, raising=False)
    assert i18n.language() == "en"
    for given in ("fr", "fr_FR.UTF-8", "FR", "fr-CA"):
        monkeypatch.setenv(i18n.ENV, given)
        assert i18n.language() == "fr"
    monkeypatch.setenv(i18n.ENV, "de")
    with pytest.raises(ValueError, match="TPDL_LANG='de' is not a language of the kit: choose one of en, fr"):
        i18n.language()


def test_a_graders_message_is_french_with_its_values_in_place(french):
    library = i18n.domain(paths.graders())
    text = library("{what} should be a finite number, not {number}", what="la perte", number=float("nan"))
    assert text == "la perte devrait être un nombre fini, et non nan"
    assert library("a message no catalogue holds") == "a message no catalogue holds"


def test_the_feedback_page_speaks_french(french):
    result = {
        "assignment": "tp4",
        "student": "alice",
        "score": 1.0,
        "max_score": 3.0,
        "missing": "",
        "checks": [
            {
                "name": "iou_follows_the_definition",
                "cell": "iou_score_tests",
                "points": 1.0,
                "max_points": 1.0,
                "passed": True,
                "message": "",
                "counted": True,
            },
            {
                "name": "iou_averages_samples_and_relates_to_dice",
                "cell": "iou_score_tests",
                "points": 0.0,
                "max_points": 2.0,
                "passed": False,
                "message": "<b>x</b>",
                "counted": True,
            },
        ],
        "infrastructure": True,
    }
    page = report.feedback_html(result)
    text = html.unescape(page).replace("\xa0", " ")  # French puts a no-break space before a colon
    french_names = i18n.domain(paths.graders("tp4"))
    assert '<html lang="fr">' in page and "tp4 : retour pour alice" in text
    named = french_names.check("iou_follows_the_definition")
    assert named != "iou_follows_the_definition" and f">{named}<" in text and "iou_follows" not in text
    assert "&lt;b&gt;x&lt;/b&gt;" in page, "a message is escaped in any language"
    assert "Note : 1 / 3" in text and ">réussie<" in text and "vérification" in text
    assert "machine de notation" in text, "the note of a problem of ours is French too"
    assert [w for w in ("Score:", ">passed<", "feedback for", "<th>check") if w in text] == [], (
        "no English left"
    )


@pytest.fixture
def french_course(tmp_path, monkeypatch):
    """A course whose ``nbgrader_config.py`` says its students speak French; ``TPDL_LANG`` unset."""
    config = (paths.course_dir() / "nbgrader_config.py").read_text()
    assert config.count('c.Kit.language = "en"') == 1, "the kit's course sets the option"
    french = config.replace('c.Kit.language = "en"', 'c.Kit.language = "fr"')
    (tmp_path / "nbgrader_config.py").write_text(french)
    monkeypatch.setenv("TPDL_COURSE_DIR", str(tmp_path))
    monkeypatch.delenv(i18n.ENV, raising=False)
    return tmp_path


def test_the_course_sets_the_language_and_tpdl_lang_overrides_it_for_one_command(french_course, monkeypatch):
    assert i18n.language() == "fr"
    assert '<html lang="fr">' in report.feedback_html(
        {"assignment": "tp4", "student": "alice", "score": 0.0, "max_score": 0.0, "checks": []}
    )
    monkeypatch.setenv(i18n.ENV, "en")
    assert i18n.language() == "en"
    monkeypatch.delenv(i18n.ENV)
    config = french_course / "nbgrader_config.py"
    config.write_text(config.read_text().replace('c.Kit.language = "fr"', 'c.Kit.language = "de"'))
    with pytest.raises(ValueError, match=r"nbgrader_config.py: .*'language'.* any of \['en', 'fr'\]"):
        i18n.language()


def test_nbgraders_feedback_speaks_the_language_of_the_course_it_runs_in(french_course, monkeypatch):
    """``nbgrader generate_feedback`` (and formgrader's button) writes the kit's page through
    ``KitFeedback``, in the course nbgrader runs in, whatever course the environment names."""
    import json
    from types import SimpleNamespace

    import nbformat
    from traitlets.config import Configurable

    from tpdl.classroom.nbgrader_ext import KitFeedback

    monkeypatch.setenv("TPDL_COURSE_DIR", str(paths.PACKAGE.parent))  # the kit's own course: English
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}:{os.environ['PATH']}")  # nbgrader runs alembic
    saved = french_course / "autograded" / "alice" / "tp4" / "results.json"
    saved.parent.mkdir(parents=True)
    saved.write_text(
        json.dumps({"assignment": "tp4", "student": "alice", "score": 0.0, "max_score": 0.0, "checks": []})
    )

    class GenerateFeedback(Configurable):  # what nbgrader's converter gives its exporter
        coursedir = SimpleNamespace(root=str(french_course))

    exporter = KitFeedback(parent=GenerateFeedback())
    page, _resources = exporter.from_notebook_node(
        nbformat.v4.new_notebook(), {"nbgrader": {"student": "alice", "assignment": "tp4"}}
    )
    assert '<html lang="fr">' in page and "retour pour alice" in html.unescape(page)
