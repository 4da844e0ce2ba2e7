"""Hidden checks of ``app.py`` (grade cell ``app_tests``, 8 points).

The judge serves ``create_app("mnist_dense.keras")`` from the submission with gunicorn on a free loopback port
of the sandbox, and sends it real HTTP requests from a worker that runs no student code: health, single and
batch predictions of fresh digits (``tpdl.grading.fresh``: drawn now), a PNG upload, bad input of every kind,
and the p95 latency of single predictions (reported, not graded).

The app must serve the handed-in model's own predictions: its digits are compared with the argmax of the model
the judge loaded (``conftest.handed_in``) on the same images scaled to [0, 1]. No accuracy is asked of the
app: the model's is judged once (``test_saved_model.py``). Images where the model's two most probable classes
are within ``tpdl.grading.fresh.TIE`` of each other are left out (float32 arithmetic in another batch may
order them either way).
"""

import io

import numpy as np
import pytest

from tpdl import grading
from tpdl.core import i18n, manifest
from tpdl.course import data
from tpdl.grading import StudentCodeError, fresh

_ = i18n.domain(__file__)
lib = grading.grader_library(__file__)

pytestmark = pytest.mark.cell("app_tests")

SAMPLES = manifest.beside(__file__).samples
BATCH = SAMPLES["app_digits"]
SINGLE = SAMPLES["app_single_digits"]  # images asked one by one (each twice, for the latency)
LATENCY_REQUESTS = 2 * SINGLE
# An app may round its probabilities for the JSON: ten rounded to 4 decimals stray 5e-4 at most.
ROUNDED_SUM = 1e-3
# The JSON the messages show (code, not words to translate).
HEALTHY_JSON = '{"status": "ok"}'
ERROR_JSON = '{"error": "..."}'


@pytest.fixture(scope="module")
def digits(handed_in, to_pixels):
    """Fresh digits (``tpdl.grading.fresh``: drawn now, with a little noise), and the handed-in model's own
    digit for each (-1 where its two most probable classes tie)."""
    images = fresh.mnist_digits(data.load_at_hand("mnist"), count=BATCH).images
    return images, fresh.own_answers(handed_in.predict(to_pixels(images)))


def assert_serves_the_model(answered, own) -> None:
    """The app's digits are the model's own, where the model does not hesitate."""
    lib.assert_clear(own, "mnist_dense.keras")
    asked = own >= 0
    differ = int(np.sum(np.asarray(answered)[asked] != own[asked]))
    assert differ == 0, _(
        "the app's answers differ from the model's own predictions on {differ} of {asked} images: does it "
        "scale the pixels as in training, and serve {model}?",
        differ=differ,
        asked=int(asked.sum()),
        model="mnist_dense.keras",
    )


@pytest.fixture(scope="module")
def service(student):
    if not student.has_file("mnist_dense.keras"):
        raise StudentCodeError(
            _("the API serves {model}, which is not in your submission", model="mnist_dense.keras")
        )
    return student.serve("app", "create_app", "mnist_dense.keras")


def one(image) -> dict:
    return {"method": "POST", "path": "/predict", "json": {"image": image.tolist()}}


def assert_answer(answer, where: str) -> int:
    assert isinstance(answer, dict) and set(answer) >= {"digit", "probabilities"}, _(
        "{where}: the answer should be a JSON object with 'digit' and 'probabilities'", where=where
    )
    digit, probabilities = answer["digit"], answer["probabilities"]
    assert isinstance(digit, int) and not isinstance(digit, bool) and 0 <= digit <= 9, _(
        "{where}: 'digit' should be an int from 0 to 9", where=where
    )
    assert (
        isinstance(probabilities, list)
        and len(probabilities) == 10
        and all(isinstance(p, (int, float)) and not isinstance(p, bool) for p in probabilities)
    ), _("{where}: 'probabilities' should be a list of 10 numbers", where=where)
    assert abs(sum(probabilities) - 1.0) < ROUNDED_SUM, _(
        "{where}: the probabilities should sum to 1", where=where
    )
    assert int(np.argmax(probabilities)) == digit, _(
        "{where}: 'digit' should be the most probable class", where=where
    )
    return digit


@pytest.mark.points(1)
def test_app_health(service):
    answer = service.request("GET", "/health")
    assert answer["status"] == 200, _("GET /health answered {status}, not 200", status=answer["status"])
    assert answer["json"] == {"status": "ok"}, _(
        "GET /health should answer the JSON {json}", json=HEALTHY_JSON
    )


@pytest.mark.points(1)
def test_app_predicts_one_image(student, service, digits):
    images, own = digits
    answers = service.exchange(*[one(images[i % SINGLE]) for i in range(LATENCY_REQUESTS)])
    assert answers[0]["status"] == 200, _(
        "POST /predict with one image answered {status}, not 200", status=answers[0]["status"]
    )
    answered = [assert_answer(answer["json"], _("one image")) for answer in answers[:SINGLE]]
    assert_serves_the_model(answered, own[:SINGLE])
    seconds = sorted(a["seconds"] for a in answers)
    p95 = seconds[int(0.95 * (len(seconds) - 1))]
    student.note = _(
        "p95 latency of one image: {ms:.1f} ms over {requests} requests", ms=p95 * 1000, requests=len(seconds)
    )


@pytest.mark.points(1)
def test_app_predicts_a_batch(service, digits):
    images, own = digits
    answer = service.request("POST", "/predict", json={"images": images.tolist()})
    assert answer["status"] == 200, _(
        "POST /predict with {batch} images answered {status}, not 200", batch=BATCH, status=answer["status"]
    )
    answers = answer["json"]
    assert isinstance(answers, list) and len(answers) == BATCH, _(
        "a batch of {batch} images should get a list of {batch} answers", batch=BATCH
    )
    assert_serves_the_model([assert_answer(a, _("a batch")) for a in answers], own)


@pytest.mark.points(1)
def test_app_accepts_a_png(service, digits):
    from PIL import Image

    images, __ = digits
    buffer = io.BytesIO()
    Image.fromarray(images[0]).save(buffer, format="PNG")
    upload = service.request(
        "POST", "/predict", body=buffer.getvalue(), headers={"Content-Type": "image/png"}
    )
    assert upload["status"] == 200, _(
        "a PNG upload (Content-Type: image/png) answered {status}, not 200", status=upload["status"]
    )
    as_json = service.request(**one(images[0]))
    assert assert_answer(upload["json"], _("a PNG upload")) == assert_answer(
        as_json["json"], _("one image")
    ), _("the PNG and the JSON of the same image get different digits")


def bad_requests(images) -> dict[str, dict]:
    good = images[0].tolist()
    return {
        _("a body that is not JSON"): {"body": "seven", "headers": {"Content-Type": "text/plain"}},
        _("broken JSON"): {"body": '{"image": [[0, 0', "headers": {"Content-Type": "application/json"}},
        _("a JSON list instead of an object"): {"json": [good]},
        _("no 'image' field"): {"json": {"picture": good}},
        _("27 rows"): {"json": {"image": good[:27]}},
        _("a row of 27 pixels"): {"json": {"image": [good[0][:27], *good[1:]]}},
        _("a flat list of 784 numbers"): {"json": {"image": images[0].ravel().tolist()}},
        _("strings for pixels"): {"json": {"image": [["0"] * 28] * 28}},
        _("null pixels"): {"json": {"image": [[None] * 28] * 28}},
        _("NaN pixels"): {
            "body": '{"image": [' + ",".join(["[" + ",".join(["NaN"] * 28) + "]"] * 28) + "]}",
            "headers": {"Content-Type": "application/json"},
        },
        _("a pixel above 255"): {"json": {"image": [[300] * 28] * 28}},
        _("a negative pixel"): {"json": {"image": [[-1] * 28] * 28}},
        _("an empty batch"): {"json": {"images": []}},
        _("a batch holding a bad image"): {"json": {"images": [good, good[:3]]}},
        _("a body of 8 MB"): {
            "body": '{"image": "' + "0" * (8 * 2**20) + '"}',
            "headers": {"Content-Type": "application/json"},
        },
        _("an upload that is not a PNG"): {
            "body": b"GIF89a not really",
            "headers": {"Content-Type": "image/png"},
        },
        # the JSON parser's own limits: nesting, a number too long to convert, bytes that are not UTF-8
        _("JSON nested 100,000 deep"): {
            "body": '{"image": ' + "[" * 100_000 + "]" * 100_000 + "}",
            "headers": {"Content-Type": "application/json"},
        },
        _("a number of 5,000 digits"): {
            "body": '{"image": [[' + "7" * 5000 + "]]}",
            "headers": {"Content-Type": "application/json"},
        },
        _("JSON that is not UTF-8"): {
            "body": b'{"image": "\xff\xfe\xfa"}',
            "headers": {"Content-Type": "application/json"},
        },
    }


@pytest.fixture(scope="module")
def bad_answers(service, digits):
    cases = bad_requests(digits[0])
    answers = service.exchange(*[{"method": "POST", "path": "/predict", **case} for case in cases.values()])
    answers += service.exchange(
        {"method": "GET", "path": "/no-such-page"}, {"method": "GET", "path": "/predict"}
    )
    return dict(zip([*cases, _("an unknown URL"), _("GET on /predict")], answers))


@pytest.mark.points(2)
def test_app_rejects_bad_input(bad_answers):
    wrong = []
    for what, answer in bad_answers.items():
        body = answer["json"]
        if not (
            answer["status"]
            and 400 <= answer["status"] < 500
            and isinstance(body, dict)
            and isinstance(body.get("error"), str)
            and body["error"].strip()
        ):
            wrong.append(
                _("{what} (answered {answer})", what=what, answer=answer["status"] or answer.get("error"))
            )
    assert not wrong, _(
        "these requests should get a 4xx answer {json}: {requests}",
        json=ERROR_JSON,
        requests="; ".join(wrong),
    )


@pytest.mark.points(1)
def test_app_never_answers_500_nor_leaks_tracebacks(bad_answers):
    leaks = [
        what
        for what, a in bad_answers.items()
        if "Traceback" in (a.get("body") or "") or 'File "' in (a.get("body") or "")
    ]
    assert not leaks, _("these answers show a Python traceback: {answers}", answers="; ".join(leaks))
    errors = [what for what, a in bad_answers.items() if a["status"] is None or a["status"] >= 500]
    assert not errors, _(
        "bad input should never get a 5xx answer (or none): {answers}", answers="; ".join(errors)
    )


@pytest.mark.points(1)
def test_app_loads_the_model_once(service, digits):
    images, __ = digits
    before = service.request(**one(images[1]))
    service.remove(
        "mnist_dense.keras"
    )  # an app that loaded its model at start does not need the file any more
    after = service.request(**one(images[1]))
    assert before["status"] == after["status"] == 200 and before["json"] == after["json"], _(
        "the app reads the model file again after it started: load it once, in create_app"
    )
