"""Does a submission's session start its notebook worker when first asked, tell the student in whole
sentences of their language what went wrong, and leave nothing running at the end?"""

import pytest

from tpdl.core import i18n
from tpdl.judge import protocol, sandbox
from tpdl.judge.session import Session, StudentCodeError


def test_the_notebook_worker_starts_once_and_answers(bare_zygote, notebook_folder):
    session = Session(bare_zygote, notebook_folder("def twice(x):\n    return 2 * x"), "n.ipynb")
    try:
        assert session.ask_notebook(protocol.Call(name="twice", args=[21]), "twice").value == 42
        first = session.notebook_worker()
        assert session.ask_notebook(protocol.Call(name="twice", args=[1]), "twice").value == 2
        assert session.notebook_worker() is first
        assert [cell["status"] for cell in session.cells] == ["ok"]
    finally:
        session.close()
    assert first.gone == "was closed by the judge"
    assert any(event.startswith("notebook worker: memory at most") for event in session.events)


def test_a_missing_notebook_is_the_students_error_every_time(bare_zygote, notebook_folder):
    session = Session(bare_zygote, notebook_folder("x = 1"), "renamed.ipynb")
    for _attempt in range(2):
        with pytest.raises(StudentCodeError, match=r"^renamed\.ipynb is not in your submission"):
            session.notebook_worker()
    session.close()


def test_a_notebook_that_runs_too_long_is_told_in_french(notebook_folder, monkeypatch):
    monkeypatch.setenv(i18n.ENV, "fr")
    with sandbox.Zygote(sandbox.Limits(notebook_s=2.0), preload=()) as jail:
        session = Session(jail, notebook_folder("while True:\n    pass"), "n.ipynb")
        with pytest.raises(StudentCodeError) as error:
            session.notebook_worker()
        session.close()
    assert str(error.value) == (
        "L'exécution de votre notebook a échoué\xa0: son processus n'a pas fini d'exécuter votre notebook "
        "en 2 s (les cellules marquées skip-grading ne sont pas exécutées)."
    )
