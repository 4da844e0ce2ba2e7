"""Every threshold the graders decide on a sample states its error rates, and they are small.

Each grader module that decides on a sample lists its checks in ``STATED_CHECKS`` (objects of the
``tpdl.grading.sequential.StatedCheck`` protocol: ``tpdl.grading.sequential`` and
``tpdl.grading.means``). For each, the table written to ``test-artifacts/statistical_checks.md``
gives the probability that a model exactly at the threshold fails (at most ``ERROR_RATE``), that the
reference fails, and that a model a stated margin on the wrong side passes (at most
``ACCEPT_RATE``).
"""

import importlib.util
from dataclasses import replace

import numpy as np
import pytest

from tpdl import grading
from tpdl.core import manifest, paths
from tpdl.grading import sequential

ROUNDING = 1 + 1e-9  # a bound computed to equal its rate exactly may come out a rounding above
ARTIFACT = paths.course_dir() / "test-artifacts" / "statistical_checks.md"


def grader_modules():
    for assignment in paths.assignments():
        for path in sorted(paths.graders(assignment).glob("test_*.py")):
            spec = importlib.util.spec_from_file_location(f"stated_{assignment}_{path.stem}", path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            yield assignment, path.name, module


@pytest.fixture(scope="module")
def stated():
    return [
        (assignment, name, check)
        for assignment, name, module in grader_modules()
        for check in getattr(module, "STATED_CHECKS", ())
    ]


def false_accept(check) -> float:
    """A model ``margin`` on the wrong side of the threshold passes with this probability."""
    below = getattr(check, "at_most", False)
    return 1.0 - check.reject_probability(check.threshold + (check.margin if below else -check.margin))


def test_every_stated_check_has_small_error_rates(stated):
    rows, wrong = [], []
    for assignment, grader, check in stated:
        at_threshold, of_reference = (
            check.reject_probability(check.threshold),
            check.reject_probability(check.reference),
        )
        accepted = false_accept(check)
        rows.append(
            f"| {assignment} | {grader} | {check.name} | {check.threshold:.4g} | {check.sample} | "
            f"{at_threshold:.2e} | {check.reference:.4g}: {of_reference:.2e} | {check.margin:.4g}: "
            f"{accepted:.2e} |"
        )
        if max(at_threshold, of_reference) > sequential.ERROR_RATE * ROUNDING:
            wrong.append(
                f"{check.name}: fails {at_threshold:.2e} at the threshold, {of_reference:.2e} the reference"
            )
        if accepted > sequential.ACCEPT_RATE * ROUNDING:
            wrong.append(f"{check.name}: passes {accepted:.2e} a margin on the wrong side")
    ARTIFACT.parent.mkdir(exist_ok=True)
    ARTIFACT.write_text(
        "| TP | grader | check | threshold | sample | false reject at the threshold | reference: its false "
        "reject | margin: false accept |\n|---|---|---|---|---|---|---|---|\n" + "\n".join(rows) + "\n"
    )
    assert {"tp1", "tp2", "tp3", "tp4"} <= {assignment for assignment, __, __ in stated}
    assert not wrong, wrong


def test_the_stated_checks_are_the_graders_own():
    """The fresh-data checks state the manifest's sample and threshold, and the check a grader builds
    for the reference's test accuracy is the stated one."""
    lib = grading.grader_library()
    for assignment, grader, module in grader_modules():
        for check in getattr(module, "STATED_CHECKS", ()):
            if not isinstance(check, sequential.DrawnAccuracy):
                continue
            samples = manifest.load(assignment).samples
            assert list(check.looks) in [value for value in samples.values() if isinstance(value, list)], (
                grader
            )
            assert check.margin in samples.values(), grader
        if assignment in ("tp1", "tp3") and hasattr(module, "FRESH"):
            least, gap = module.FRESH_ACCURACY, module.MAX_GAP
            right = round(getattr(module, "GAP_BINDS_AT", module.REFERENCE_TEST) * 10_000)
            test = sequential.Accuracy(right, 10_000, 10_000, right, right, "the test set")
            built = lib.fresh_check(module.FRESH, test, least_fresh=least, most_gap=gap)
            assert replace(built, name=module.STATED_CHECKS[1].name) == module.STATED_CHECKS[1]
            below = sequential.Accuracy(7000, 10_000, 10_000, 7000, 7000, "the test set")
            built = lib.fresh_check(module.FRESH, below, least_fresh=least, most_gap=gap)
            assert replace(built, name=module.FRESH.name) == module.FRESH


# --------------------------------------------------------------------------- models at a threshold

GRADINGS = 20  # fresh seeds each model is graded with
MEASURED_ON = 20_000  # fresh digits a built model's accuracy is measured on


def grader(assignment: str, name: str):
    return next(
        module for tp, grader_name, module in grader_modules() if (tp, grader_name) == (assignment, name)
    )


def fresh_verdicts(check, model, lib, seeds) -> list[bool]:
    """TP1's fresh-digit check of ``model`` as ``test_saved_model`` grades it, once per seed."""
    from tpdl.course import data
    from tpdl.grading import fresh

    mnist = data.load_at_hand("mnist")
    verdicts = []
    for seed in seeds:
        sample = fresh.mnist_digits(mnist, count=check.looks[-1], seed=seed)
        pixels = sample.images.reshape(len(sample.images), -1).astype("float32") / 255.0
        correct_of = lib.classified(model, pixels, sample.labels, what="model", classes=10)
        verdicts.append(check.decide(correct_of, sample.where).passed)
    return verdicts


class Biased:
    """The reference's MLP with ``bias`` added to the logit of class 0 (its accuracy falls as it grows)."""

    def __init__(self, keras_model, bias: float):
        import keras

        self.model = keras.models.clone_model(keras_model)
        self.model.set_weights(keras_model.get_weights())
        weights, biases = self.model.layers[-1].get_weights()
        biases[0] += bias
        self.model.layers[-1].set_weights([weights, biases])

    def predict(self, x, batch_size: int = 512):
        return self.model.predict(x, batch_size=batch_size, verbose=0)


def model_at(accuracy: float, reference, pixels, labels) -> tuple[Biased, float]:
    """A model whose accuracy on the measured fresh digits lies in [accuracy, accuracy + 0.002]."""
    low, high = 0.0, 50.0
    for __ in range(30):
        model = Biased(reference, (low + high) / 2)
        measured = float(np.mean(model.predict(pixels).argmax(axis=1) == labels))
        if accuracy <= measured <= accuracy + 0.002:
            return model, measured
        low, high = (low, (low + high) / 2) if measured < accuracy else ((low + high) / 2, high)
    raise AssertionError(f"no bias gives an accuracy of {accuracy}")


@pytest.mark.slow
def test_tp1_models_at_the_fresh_threshold_pass_every_grading_and_below_the_margin_fail():
    """Reference MLPs made worse until they score the threshold (and the threshold less the margin)
    on 20,000 fresh digits, graded by TP1's own fresh check with fresh seeds."""
    import keras

    from tpdl.course import data
    from tpdl.grading import fresh

    lib = grading.grader_library()
    check = grader("tp1", "test_saved_model.py").FRESH
    reference = keras.saving.load_model(paths.sample_submission("reference", "tp1") / "mnist_dense.keras")
    measured = fresh.mnist_digits(data.load_at_hand("mnist"), count=MEASURED_ON, seed=2**31 + 1)
    pixels = measured.images.reshape(MEASURED_ON, -1).astype("float32") / 255.0
    at_threshold, __ = model_at(check.threshold, reference, pixels, measured.labels)
    assert all(fresh_verdicts(check, at_threshold, lib, range(GRADINGS)))
    below, __ = model_at(check.threshold - check.margin, reference, pixels, measured.labels)
    assert sum(fresh_verdicts(check, below, lib, range(GRADINGS, 2 * GRADINGS))) <= GRADINGS // 4


@pytest.mark.parametrize(
    ("assignment", "name", "attribute"),
    [("tp3", "test_cnn_model.py", "FRESH"), ("tp4", "test_conv3d_model.py", "ACCURACY")],
)
def test_a_model_exactly_at_a_threshold_passes_every_grading_and_one_below_the_margin_fails(
    assignment, name, attribute
):
    """A simulated model, right on each item with probability exactly the threshold (or the threshold
    less the margin), through the grader's own decision, once per seed."""
    check = getattr(grader(assignment, name), attribute)

    def gradings(truth: float, seeds) -> list[bool]:
        rngs = [np.random.default_rng(seed) for seed in seeds]
        return [check.decide(lambda i, rng=rng: rng.random(len(i)) < truth, "draws").passed for rng in rngs]

    assert all(gradings(check.threshold, range(GRADINGS)))
    assert sum(gradings(check.threshold - check.margin, range(GRADINGS, 2 * GRADINGS))) <= GRADINGS // 4
