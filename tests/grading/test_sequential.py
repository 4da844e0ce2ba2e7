"""Does deciding an accuracy threshold on part of a set give the whole set's verdict?"""

import functools

import numpy as np
import pytest
from scipy.stats import binom, hypergeom

from tpdl.authoring import catalogue
from tpdl.core import manifest, paths
from tpdl.course import data
from tpdl.grading import sequential

LIB_THRESHOLDS = [  # (set size, threshold): each TP's test sets, whole and the kit's fixtures
    (10_000, manifest.load("tp3").thresholds["course_accuracy"]),
    (500, manifest.load("tp3").thresholds["course_accuracy"]),
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

MODELS = {"tp3": "cifar10_cnn.keras"}  # the graders that decide on part of a finite set


def catalogue_models():
    for assignment, model in MODELS.items():
        yield pytest.param(assignment, None, id=f"{assignment}/reference")
        for entry in catalogue.entries(paths.course_dir() / "tests" / "catalogue" / assignment):
            if entry.target == model:
                yield pytest.param(assignment, entry, id=f"{assignment}/{entry.id}")


@functools.cache
def judged_set(assignment: str):
    """The set the grader measures on part of it, and its questions, as the grader asks them."""
    cifar = data.load_at_hand("cifar10")
    return (
        cifar.x_test,
        cifar.y_test,
        [sequential.at_least(manifest.load("tp3").thresholds["course_accuracy"])],
    )


@pytest.mark.slow
@pytest.mark.parametrize(("assignment", "entry"), list(catalogue_models()))
def test_every_catalogue_model_gets_the_whole_sets_verdict(tmp_path, assignment, entry):
    import keras

    reference = paths.sample_submission("reference", assignment)
    folder = (
        reference
        if entry is None
        else catalogue.build(entry, reference, tmp_path / assignment, f"{assignment}.ipynb")
    )
    model = keras.saving.load_model(folder / MODELS[assignment], safe_mode=True)
    x, labels, questions = judged_set(assignment)
    right = model.predict(x, batch_size=256, verbose=0).argmax(axis=1) == labels
    expected = whole(right, questions)
    for answer, _ in verdicts(right, questions, seeds=range(100)):
        assert answer == expected


# --------------------------------------------------------------------------- fresh draws

PLANS = [  # (threshold, looks, margin): a single look and several
    (0.97, (10_000,), 0.014),
    (0.6, (500, 1000, 2000, 4000, 8000), 0.045),
    (0.95, (50, 100, 200), 0.1),
]


@pytest.mark.parametrize(("threshold", "looks", "margin"), PLANS)
def test_a_drawn_accuracys_floor_is_the_largest_count_the_error_rate_allows(threshold, looks, margin):
    check = sequential.DrawnAccuracy("x", threshold, looks, margin, reference=1.0)
    alpha = check.error_rate / len(looks)
    for seen in looks:
        floor = check.floor(seen)
        assert binom.cdf(floor - 1, seen, threshold) <= alpha < binom.cdf(floor, seen, threshold)
    assert check.reject_probability(threshold) <= check.error_rate


def test_a_single_look_rejects_with_the_binomial_tail():
    check = sequential.DrawnAccuracy("x", 0.97, (2000,), 0.03, reference=1.0)
    for truth in (0.9, 0.95, 0.97, 0.99):
        assert check.reject_probability(truth) == pytest.approx(binom.cdf(check.floor(2000) - 1, 2000, truth))


@pytest.mark.parametrize("truth", [0.86, 0.9, 0.95])
def test_the_exact_reject_probability_is_what_drawing_gives(truth):
    """Simulated gradings of a model right with probability ``truth``, through :meth:`decide`."""
    check = sequential.DrawnAccuracy("x", 0.95, (50, 100, 200), 0.1, reference=1.0, error_rate=0.05)
    rng = np.random.default_rng(int(truth * 100))
    runs = 4000
    rejected = sum(
        not check.decide(lambda i: rng.random(len(i)) < truth, "draws").passed for _ in range(runs)
    )
    expected = check.reject_probability(truth)
    assert abs(rejected / runs - expected) <= 4 * np.sqrt(expected * (1 - expected) / runs) + 1e-3


def test_a_model_far_above_the_threshold_is_decided_at_the_first_look():
    check = sequential.DrawnAccuracy("x", 0.6, (500, 1000, 2000, 4000, 8000), 0.045, reference=0.89)
    drawn = check.decide(lambda i: np.arange(len(i)) % 10 != 0, "draws")  # 90 % right
    assert drawn.passed and drawn.seen == 500
    assert check.expected_seen(0.89) == pytest.approx(500)
    assert check.expected_seen(0.6) > 2000
    with pytest.raises(ValueError, match="increasing"):
        sequential.DrawnAccuracy("x", 0.6, (500, 500), 0.045, reference=0.89)
