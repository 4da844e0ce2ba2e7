"""Hidden checks of ``app.py`` (grade cell ``app_tests``, 8 points).

The judge serves ``create_app("mnist_dense.keras")`` from the submission with gunicorn on a free
loopback port of the sandbox, and sends it real HTTP requests from a worker that runs no student
code: health, single and batch predictions of fresh digits (``tpdl.fresh``: drawn now), a PNG upload, bad input of
every kind, and the p95 latency of single predictions (reported, not graded).
"""

import io

import numpy as np
import pytest

from tpdl import data, fresh
from tpdl.grading import StudentCodeError

pytestmark = pytest.mark.cell("app_tests")

BATCH = 200
BATCH_ACCURACY = 0.97
LATENCY_REQUESTS = 40
# An app may round its probabilities for the JSON: ten rounded to 4 decimals stray 5e-4 at most.
ROUNDED_SUM = 1e-3


@pytest.fixture(scope="module")
def digits():
    """Fresh digits (``tpdl.fresh``: drawn now, with a little noise): an app that looks its answers up
    in a table of known images cannot answer them; the reference's model gets 99.5 % of them."""
    sample = fresh.mnist_digits(data.load_at_hand("mnist"), count=BATCH)
    return sample.images, sample.labels


@pytest.fixture(scope="module")
def service(student):
    if not student.has_file("mnist_dense.keras"):
        raise StudentCodeError("the API serves mnist_dense.keras, which is not in your submission")
    return student.serve("app", "create_app", "mnist_dense.keras")


def one(image) -> dict:
    return {"method": "POST", "path": "/predict", "json": {"image": image.tolist()}}


def assert_answer(answer, where: str) -> int:
    assert isinstance(answer, dict) and set(answer) >= {"digit", "probabilities"}, (
        f"{where}: the answer should be a JSON object with 'digit' and 'probabilities'"
    )
    digit, probabilities = answer["digit"], answer["probabilities"]
    assert isinstance(digit, int) and not isinstance(digit, bool) and 0 <= digit <= 9, (
        f"{where}: 'digit' should be an int from 0 to 9"
    )
    assert (
        isinstance(probabilities, list)
        and len(probabilities) == 10
        and all(isinstance(p, (int, float)) and not isinstance(p, bool) for p in probabilities)
    ), f"{where}: 'probabilities' should be a list of 10 numbers"
    assert abs(sum(probabilities) - 1.0) < ROUNDED_SUM, f"{where}: the probabilities should sum to 1"
    assert int(np.argmax(probabilities)) == digit, f"{where}: 'digit' should be the most probable class"
    return digit


@pytest.mark.points(1)
def test_app_health(service):
    answer = service.request("GET", "/health")
    assert answer["status"] == 200, f"GET /health answered {answer['status']}, not 200"
    assert answer["json"] == {"status": "ok"}, 'GET /health should answer the JSON {"status": "ok"}'


@pytest.mark.points(1)
def test_app_predicts_one_image(student, service, digits):
    images, labels = digits
    answers = service.exchange(*[one(images[i % 20]) for i in range(LATENCY_REQUESTS)])
    assert answers[0]["status"] == 200, (
        f"POST /predict with one image answered {answers[0]['status']}, not 200"
    )
    correct = 0
    for i, answer in enumerate(answers[:20]):
        correct += assert_answer(answer["json"], "one image") == labels[i]
    assert correct >= 18, (
        f"only {correct} of 20 clear digits were classified correctly: is the image scaled as in training?"
    )
    seconds = sorted(a["seconds"] for a in answers)
    p95 = seconds[int(0.95 * (len(seconds) - 1))]
    student.note = f"p95 latency of one image: {p95 * 1000:.1f} ms over {len(seconds)} requests"


@pytest.mark.points(1)
def test_app_predicts_a_batch(service, digits):
    images, labels = digits
    answer = service.request("POST", "/predict", json={"images": images.tolist()})
    assert answer["status"] == 200, f"POST /predict with {BATCH} images answered {answer['status']}, not 200"
    answers = answer["json"]
    assert isinstance(answers, list) and len(answers) == BATCH, (
        f"a batch of {BATCH} images should get a list of {BATCH} answers"
    )
    predicted = np.array([assert_answer(a, "a batch") for a in answers])
    accuracy = float(np.mean(predicted == labels))
    assert accuracy >= BATCH_ACCURACY, (
        f"the batch of {BATCH} digits is {accuracy:.1%} right; {BATCH_ACCURACY:.0%} is expected"
    )


@pytest.mark.points(1)
def test_app_accepts_a_png(service, digits):
    from PIL import Image

    images, _ = digits
    buffer = io.BytesIO()
    Image.fromarray(images[0]).save(buffer, format="PNG")
    upload = service.request(
        "POST", "/predict", body=buffer.getvalue(), headers={"Content-Type": "image/png"}
    )
    assert upload["status"] == 200, (
        f"a PNG upload (Content-Type: image/png) answered {upload['status']}, not 200"
    )
    as_json = service.request(**one(images[0]))
    assert assert_answer(upload["json"], "a PNG upload") == assert_answer(as_json["json"], "one image"), (
        "the PNG and the JSON of the same image get different digits"
    )


def bad_requests(images) -> dict[str, dict]:
    good = images[0].tolist()
    return {
        "a body that is not JSON": {"body": "seven", "headers": {"Content-Type": "text/plain"}},
        "broken JSON": {"body": '{"image": [[0, 0', "headers": {"Content-Type": "application/json"}},
        "a JSON list instead of an object": {"json": [good]},
        "no 'image' field": {"json": {"picture": good}},
        "27 rows": {"json": {"image": good[:27]}},
        "a row of 27 pixels": {"json": {"image": [good[0][:27], *good[1:]]}},
        "a flat list of 784 numbers": {"json": {"image": images[0].ravel().tolist()}},
        "strings for pixels": {"json": {"image": [["0"] * 28] * 28}},
        "null pixels": {"json": {"image": [[None] * 28] * 28}},
        "NaN pixels": {"body": '{"image": [' + ",".join(["[" + ",".join(["NaN"] * 28) + "]"] * 28) + "]}",
                       "headers": {"Content-Type": "application/json"}},
        "a pixel above 255": {"json": {"image": [[300] * 28] * 28}},
        "a negative pixel": {"json": {"image": [[-1] * 28] * 28}},
        "an empty batch": {"json": {"images": []}},
        "a batch holding a bad image": {"json": {"images": [good, good[:3]]}},
        "a body of 8 MB": {"body": '{"image": "' + "0" * (8 * 2**20) + '"}', "headers": {"Content-Type": "application/json"}},
        "an upload that is not a PNG": {"body": b"GIF89a not really", "headers": {"Content-Type": "image/png"}},
        # the JSON parser's own limits: nesting, a number too long to convert, bytes that are not UTF-8
        "JSON nested 100,000 deep": {"body": '{"image": ' + "[" * 100_000 + "]" * 100_000 + "}",
                                     "headers": {"Content-Type": "application/json"}},
        "a number of 5,000 digits": {"body": '{"image": [[' + "7" * 5000 + "]]}",
                                     "headers": {"Content-Type": "application/json"}},
        "JSON that is not UTF-8": {"body": b'{"image": "\xff\xfe\xfa"}', "headers": {"Content-Type": "application/json"}},
    }  # fmt: skip


@pytest.fixture(scope="module")
def bad_answers(service, digits):
    cases = bad_requests(digits[0])
    answers = service.exchange(*[{"method": "POST", "path": "/predict", **case} for case in cases.values()])
    answers += service.exchange(
        {"method": "GET", "path": "/no-such-page"}, {"method": "GET", "path": "/predict"}
    )
    return dict(zip([*cases, "an unknown URL", "GET on /predict"], answers))


@pytest.mark.points(2)
def test_app_rejects_bad_input(bad_answers):
    wrong = []
    for what, answer in bad_answers.items():
        body = answer["json"]
        if not (answer["status"] and 400 <= answer["status"] < 500 and isinstance(body, dict)
                and isinstance(body.get("error"), str) and body["error"].strip()):  # fmt: skip
            wrong.append(f"{what} (answered {answer['status'] or answer.get('error')})")
    assert not wrong, 'these requests should get a 4xx answer {"error": "..."}: ' + "; ".join(wrong)


@pytest.mark.points(1)
def test_app_never_answers_500_nor_leaks_tracebacks(bad_answers):
    leaks = [
        what
        for what, a in bad_answers.items()
        if "Traceback" in (a.get("body") or "") or 'File "' in (a.get("body") or "")
    ]
    assert not leaks, "these answers show a Python traceback: " + "; ".join(leaks)
    errors = [what for what, a in bad_answers.items() if a["status"] is None or a["status"] >= 500]
    assert not errors, "bad input should never get a 5xx answer (or none): " + "; ".join(errors)


@pytest.mark.points(1)
def test_app_loads_the_model_once(service, digits):
    images, _ = digits
    before = service.request(**one(images[1]))
    service.remove(
        "mnist_dense.keras"
    )  # an app that loaded its model at start does not need the file any more
    after = service.request(**one(images[1]))
    assert before["status"] == after["status"] == 200 and before["json"] == after["json"], (
        "the app reads the model file again after it started: load it once, in create_app"
    )
