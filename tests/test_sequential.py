"""Does deciding an accuracy threshold on part of a set give the whole set's verdict?"""

import functools

import numpy as np
import pytest
from scipy.stats import hypergeom

from tpdl import catalogue, data, manifest, paths, sequential
from tpdl.phantoms import volumes

LIB_THRESHOLDS = [  # (set size, threshold): each TP's test sets, whole and the kit's fixtures
    (10_000, manifest.load("tp3").thresholds["course_accuracy"]),
    (500, manifest.load("tp3").thresholds["course_accuracy"]),
    (400, manifest.load("tp4").thresholds["conv3d_accuracy"]),
    (10_000, manifest.load("tp1").thresholds["course_accuracy"]),
]
PERMUTATIONS = 20


def exhaustive_interval(correct, seen, total, alpha):
    counts = np.arange(total + 1)
    plausible = np.flatnonzero(
        (hypergeom.sf(correct - 1, total, counts, seen) > alpha / 2)
        & (hypergeom.cdf(correct, total, counts, seen) > alpha / 2)
    )
    return int(plausible[0]), int(plausible[-1])


def test_the_interval_is_the_exact_hypergeometric_one():
    rng = np.random.default_rng(0)
    for _ in range(200):
        total = int(rng.integers(2, 2000))
        seen = int(rng.integers(1, total))
        correct = int(rng.integers(0, seen + 1))
        alpha = float(10 ** rng.uniform(-6, -1))
        assert sequential.interval(correct, seen, total, alpha) == exhaustive_interval(
            correct, seen, total, alpha
        )
    assert sequential.interval(7, 10, 10, 1e-4) == (7, 7)  # the whole set: the count itself


def verdicts(right: np.ndarray, predicates, seeds=range(PERMUTATIONS)) -> list[tuple[list[bool], int]]:
    """For each seeded order: the sequential verdicts and how many items were seen."""
    answers = []
    for seed in seeds:
        measured = sequential.decide(
            lambda i: right[i], len(right), predicates, "the set", rng=np.random.default_rng(seed)
        )
        answers.append(([measured.verdict(p) for p in predicates], measured.seen))
    return answers


def whole(right: np.ndarray, predicates) -> list[bool]:
    accuracy = np.array([right.mean()])
    return [bool(p(accuracy)[0]) for p in predicates]


def model_with(total: int, count: int) -> np.ndarray:
    right = np.zeros(total, dtype=bool)
    right[:count] = True
    return right


@pytest.mark.slow
@pytest.mark.parametrize(("total", "threshold"), LIB_THRESHOLDS)
def test_models_just_either_side_of_a_threshold_get_the_whole_sets_verdict(total, threshold):
    needed = int(np.flatnonzero(np.arange(total + 1) / total >= threshold)[0])  # the fewest right that pass
    question = [sequential.at_least(threshold)]
    for count in (needed - 2, needed - 1, needed, needed + 1, needed + 2):
        right = model_with(total, count)
        for answer, seen in verdicts(right, question):
            assert answer == whole(right, question), (count, seen)
            assert seen == total, "a model this close to the threshold is measured on every item"


@pytest.mark.parametrize(("total", "threshold"), LIB_THRESHOLDS)
def test_models_far_from_a_threshold_are_decided_on_part_of_the_set(total, threshold):
    question = [sequential.at_least(threshold)]
    for count in (int(total * (threshold - 0.2)), int(total * min(1.0, threshold + 0.15))):
        right = model_with(total, count)
        for answer, seen in verdicts(right, question):
            assert answer == whole(right, question)
            assert seen < total


def test_two_questions_are_both_settled():
    """TP3's pair: the course's threshold, and a gap to the fresh images' accuracy (here 0.80)."""
    course, fresh, most_gap = 0.6974, 0.80, 0.1
    questions = [lambda a: a >= course, lambda a: a - fresh <= most_gap]
    for count in (6000, 6973, 6974, 8000, 8999, 9000, 9001, 9500):
        right = model_with(10_000, count)
        for answer, _ in verdicts(right, questions, seeds=range(10)):
            assert answer == whole(right, questions), count


def test_no_question_measures_every_item_and_an_unsettled_one_is_refused():
    right = model_with(1000, 900)
    measured = sequential.decide(lambda i: right[i], 1000, [], "the set")
    assert measured.exact and measured.value == 0.9
    partial = sequential.decide(lambda i: right[i], 1000, [sequential.at_least(0.5)], "the set")
    assert not partial.exact
    with pytest.raises(ValueError, match="not settled"):
        partial.verdict(sequential.at_least(0.9))


def test_the_student_reads_a_bound_and_how_it_was_decided():
    right = model_with(10_000, 8300)
    measured = sequential.decide(lambda i: right[i], 10_000, [sequential.at_least(0.6974)], "the test images")
    text = measured.described()
    assert text.startswith("at least ") and f"measured on {measured.seen:,} of them" in text
    assert "99.99% confidence" in text
    assert measured.low / 10_000 <= 0.83 <= measured.high / 10_000


# --------------------------------------------------------------------------- the catalogue's models

MODELS = {"tp3": "cifar10_cnn.keras", "tp4": "conv3d.keras"}  # the graders that decide sequentially


def catalogue_models():
    for assignment, model in MODELS.items():
        yield pytest.param(assignment, None, id=f"{assignment}/reference")
        for entry in catalogue.entries(paths.course_dir() / "tests" / "catalogue" / assignment):
            if entry.target == model:
                yield pytest.param(assignment, entry, id=f"{assignment}/{entry.id}")


@functools.cache
def judged_set(assignment: str):
    """The set the grader measures, its questions, as the grader builds them (fixed seeds here)."""
    from tpdl import fresh

    if assignment == "tp3":
        thresholds = manifest.load("tp3").thresholds
        cifar = data.load_at_hand("cifar10")
        sample = fresh.cifar_images(cifar, seed=7)
        return cifar.x_test, cifar.y_test, (sample.images, sample.labels), thresholds
    images, labels, _ = volumes(400, seed=7)
    return images, labels, None, manifest.load("tp4").thresholds


@pytest.mark.slow
@pytest.mark.parametrize(("assignment", "entry"), catalogue_models())
def test_every_catalogue_model_gets_the_whole_sets_verdict(tmp_path, assignment, entry):
    import keras

    from tpdl import grading

    lib = grading.grader_library()
    reference = paths.sample_submission("reference", assignment)
    folder = (
        reference
        if entry is None
        else catalogue.build(entry, reference, tmp_path / assignment, f"{assignment}.ipynb")
    )
    model = keras.saving.load_model(folder / MODELS[assignment], safe_mode=True)
    x, labels, fresh_set, thresholds = judged_set(assignment)
    right = model.predict(x, batch_size=256, verbose=0).argmax(axis=1) == labels
    if fresh_set is not None:
        fresh_right = model.predict(fresh_set[0], batch_size=256, verbose=0).argmax(axis=1) == fresh_set[1]
        fresh = sequential.decide(lambda i: fresh_right[i], len(fresh_right), [], "fresh")
        questions = lib.generalisation_questions(
            fresh, course=thresholds["course_accuracy"], most_gap=thresholds["max_gap"]
        )
    else:
        questions = [sequential.at_least(thresholds["conv3d_accuracy"])]
    expected = whole(right, questions)
    for answer, _ in verdicts(right, questions, seeds=range(100)):
        assert answer == expected
