"""Does the ``student`` fixture ask the right worker, and tell the student what went wrong?

The submission's session is replaced by one that answers as the workers would: these tests are
about what :class:`Submission`, :class:`Model` and :class:`Service` make of the answers.
"""

import re
import types

import numpy as np
import pytest

from tpdl.core import paths
from tpdl.grading import models
from tpdl.grading.student import Model, Service, StudentCodeError, Submission
from tpdl.judge import protocol, sandbox

SET_BY_THE_SUBMISSION = {"session", "path", "notebook", "student", "note"}


class Session:
    """Answers a notebook worker's ``failure`` to every call, and doubles every prediction's input."""

    def __init__(self, failure: sandbox.WorkerError | None = None):
        self.failure, self.models_ended, self.predicted, self.sent = failure, 0, [], []

    def ask_notebook(self, request, what):
        if self.failure:
            raise self.failure
        return types.SimpleNamespace(value=("called", request.name))

    def ask_models(self, request, failure):
        if isinstance(request, protocol.Predict):
            self.predicted.append(len(request.x))
            return request.x * 2
        self.sent.append(request)
        return [protocol.HttpAnswer(status=200, body='{"digit": 3}'), protocol.HttpAnswer(error="refused")]


def submission(path, session) -> Submission:
    made = Submission.__new__(Submission)
    made.session, made.path = session, path
    return made


def test_does_the_submission_answer_every_question_the_graders_ask():
    asked = set()
    for grader in paths.graders().rglob("*.py"):
        asked |= set(re.findall(r"\bstudent\.([a-z_]+)\b", grader.read_text(encoding="utf-8")))
    assert len(asked) > 20
    missing = sorted(name for name in asked - SET_BY_THE_SUBMISSION if not hasattr(Submission, name))
    assert missing == []


def test_is_a_function_not_implemented_yet_named_for_the_student(tmp_path):
    unwritten = sandbox.WorkerError("raised", "NotImplementedError: write me")
    with pytest.raises(StudentCodeError, match="preprocess is not implemented yet"):
        submission(tmp_path, Session(unwritten)).call("preprocess", 1)
    raising = submission(tmp_path, Session(sandbox.WorkerError("raised", "ValueError: window is 0")))
    with pytest.raises(StudentCodeError, match="preprocess raised ValueError: window is 0"):
        raising.call("preprocess", 1)
    assert raising.error_raised("preprocess", 0) == "ValueError"
    assert submission(tmp_path, Session()).call("preprocess") == ("called", "preprocess")
    assert submission(tmp_path, Session()).error_raised("preprocess") is None


def test_are_only_plain_files_inside_the_copy_read(tmp_path):
    (tmp_path / "app.py").write_text("print('hi')")
    (tmp_path / "link.py").symlink_to(tmp_path / "app.py")
    student = submission(tmp_path, Session())
    assert student.has_file("app.py")
    for outside in ("link.py", "../app.py", "/etc/passwd", "", "./app.py", "missing.py"):
        assert not student.has_file(outside), outside
    assert student.read_file("app.py") == b"print('hi')"
    with pytest.raises(StudentCodeError, match="larger than 4 bytes"):
        student.read_file("app.py", max_bytes=4)
    with pytest.raises(StudentCodeError, match="missing.py is not in your submission"):
        student.read_file("missing.py")
    assert student.file_digest("missing.py") is None and len(student.file_digest("app.py")) == 64


def test_does_a_large_prediction_cross_in_pieces_and_come_back_whole(monkeypatch):
    session = Session()
    model = Model(session, "k", {"layers": []}, "model.keras")
    x = np.arange(40, dtype=np.float32).reshape(10, 4)  # (N, 4): 16 bytes a row
    monkeypatch.setattr(models, "PREDICT_BYTES", 48)
    np.testing.assert_array_equal(model.predict(x), x * 2)
    assert session.predicted == [3, 3, 3, 1]


def test_does_a_service_send_json_and_read_its_answers():
    session = Session()
    worker = types.SimpleNamespace(ready=protocol.ServiceReady(port=8000))
    service = Service(session, worker)
    answers = service.exchange(
        {"method": "POST", "path": "/predict", "json": {"image": [0]}}, {"method": "GET", "path": "/"}
    )
    sent = session.sent[0]
    assert sent.port == 8000 and sent.exchanges[0].body == '{"image": [0]}'
    assert sent.exchanges[0].headers == {"Content-Type": "application/json"}
    assert answers[0]["json"] == {"digit": 3}
    assert answers[1]["status"] is None and answers[1]["body"] is None and answers[1]["error"] == "refused"
