"""What every TP's graders share: named tolerances, the assertions graders make, and NumPy references.

A grader loads it with ``lib = grading.grader_library(__file__)``. It lives with the graders, so the
sandbox's workers never see it (graders are not bound into the jail); each NumPy reference is
checked once against Keras and TensorFlow by the kit's tests (``tests/grading/test_graderlib.py``).

The references compute in float64 on NumPy arrays of shape ``(N, H, W, C)`` (channels last), as
Keras lays out images.
"""

import numpy as np

from tpdl.core import i18n
from tpdl.grading import sequential

_ = i18n.domain(__file__)  # graders/locale: the messages of the assertions below

# Tolerances, named for what they allow.
FLOAT32 = {"rtol": 1e-5, "atol": 1e-6}  # one float32 computation against a float64 reference
FLOAT32_CHAIN = {"rtol": 1e-4, "atol": 1e-4}  # a chain of float32 layers (a block, a network)
TENSORS = {"rtol": 1e-4, "atol": 1e-5}  # the same function on tensors and on arrays
FLOAT64 = {"rtol": 1e-6, "atol": 1e-9}  # NumPy float64 code against a float64 reference, in another order
PIXELS = {"rtol": 1e-6, "atol": 1e-7}  # float32 pixels scaled into [0, 1] against the exact quotient
PROBABILITIES = {"rtol": 1e-5, "atol": 1e-4}  # a float32 softmax's outputs summing to one
GRADIENTS = {"rtol": 1e-3, "atol": 1e-7}  # a float32 gradient traced by TensorFlow against a float64 formula
FINITE_DIFFERENCES = {"rtol": 1e-4, "atol": 1e-9}  # a gradient against a central finite difference
RECOMPUTED_LOSS = {"rtol": 1e-3, "atol": 1e-8}  # a float32 loss, recomputed by the judge in another graph


def assert_close(
    got, want, what: str, *, rtol: float = FLOAT32["rtol"], atol: float = FLOAT32["atol"]
) -> None:
    """``got`` equals ``want`` within the tolerances, else an assertion naming ``what`` (not the values)."""
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    assert got.shape == want.shape, _(
        "{what} has shape {shape}; expected {expected}", what=what, shape=got.shape, expected=want.shape
    )
    assert np.all(np.isfinite(got)), _("{what} holds NaN or infinite values", what=what)
    assert np.allclose(got, want, rtol=rtol, atol=atol), _(
        "{what} does not hold the expected values", what=what
    )


def assert_refuses(
    student, name: str, *args, what: str, why: str = "", error: str = "ValueError", **kwargs
) -> None:
    """``name(*args, **kwargs)`` must raise ``error``. ``what`` names the call or the bad input for
    the student (``"build_tap(window=0)"``), ``why`` may add why it is bad (``" (no channel axis)"``)."""
    raised = student.error_raised(name, *args, **kwargs)
    if raised is None:
        raise AssertionError(
            _("{what} should raise {error}{why}, but it returned normally", what=what, error=error, why=why)
        )
    assert raised == error, _(
        "{what} should raise {error}{why}, not {raised}", what=what, error=error, why=why, raised=raised
    )


def as_scalar(value, what: str) -> float:
    """``value`` (a Python number, a NumPy scalar or a 0-d array) as a finite float."""
    array = np.asarray(value)
    assert array.shape == () and array.dtype.kind in "fiu", _("{what} should be a single number", what=what)
    number = float(array)
    assert np.isfinite(number), _("{what} should be a finite number, not {number}", what=what, number=number)
    return number


# --------------------------------------------------------------------------- NumPy references


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow's 'same' padding of one axis: (before, after), the odd pixel after."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def conv2d(x, kernel, bias=0.0, stride: int = 1, padding="same"):
    """A 2D convolution (Keras's ``Conv2D``: a kernel of shape (kh, kw, in, out)).

    ``padding`` is ``"same"`` (TensorFlow's), ``"valid"``, or ``(before, after)`` zeros on both axes.
    """
    x = np.asarray(x, dtype=np.float64)
    kernel = np.asarray(kernel, dtype=np.float64)
    kh, kw = kernel.shape[:2]
    if padding == "same":
        (top, bottom), (left, right) = (
            same_padding(x.shape[1], kh, stride),
            same_padding(x.shape[2], kw, stride),
        )
    elif padding == "valid":
        top = bottom = left = right = 0
    else:
        (top, bottom), (left, right) = padding, padding
    x = np.pad(x, ((0, 0), (top, bottom), (left, right), (0, 0)))
    out_h, out_w = (x.shape[1] - kh) // stride + 1, (x.shape[2] - kw) // stride + 1
    out = sum(
        x[:, i : i + stride * out_h : stride, j : j + stride * out_w : stride, :] @ kernel[i, j]
        for i in range(kh)
        for j in range(kw)
    )
    return out + np.asarray(bias, dtype=np.float64)


def max_pool(x, size: int = 2):
    """Non-overlapping max pooling (``MaxPooling2D(size)``) of a batch whose sides ``size`` divides."""
    n, h, w, c = np.shape(x)
    return np.asarray(x, dtype=np.float64).reshape(n, h // size, size, w // size, size, c).max(axis=(2, 4))


def relu(x):
    return np.maximum(x, 0.0)


def gram(features):
    """The Gram matrix of each feature map of a batch (N, H, W, C): (N, C, C), divided by H * W."""
    batch, height, width, channels = np.shape(features)
    flat = np.asarray(features, dtype=np.float64).reshape(batch, height * width, channels)
    return np.transpose(flat, (0, 2, 1)) @ flat / (height * width)


def total_variation(image):
    """The mean squared difference of vertically, plus horizontally, neighbouring pixels of an image."""
    x = np.asarray(image, dtype=np.float64)  # (H, W, C)
    return np.mean((x[1:] - x[:-1]) ** 2) + np.mean((x[:, 1:] - x[:, :-1]) ** 2)


def softmax(x, axis: int = -1):
    """A numerically stable softmax."""
    x = np.asarray(x, dtype=np.float64)
    shifted = np.exp(x - x.max(axis=axis, keepdims=True))
    return shifted / shifted.sum(axis=axis, keepdims=True)


def attention(q, k, v, mask=None):
    """Scaled dot-product attention: softmax over the keys of ``q k^T / sqrt(d)``, the keys where
    ``mask`` is false left out, times ``v``; a query with no key left gets zeros. (output, weights)"""
    q, k, v = (np.asarray(a, dtype=np.float64) for a in (q, k, v))
    logits = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    if mask is not None:
        logits = np.where(np.broadcast_to(np.asarray(mask).astype(bool), logits.shape), logits, -np.inf)
    top = logits.max(axis=-1, keepdims=True)
    exponentials = np.exp(logits - np.where(np.isfinite(top), top, 0.0))
    total = exponentials.sum(axis=-1, keepdims=True)
    weights = np.where(total > 0, exponentials / np.where(total > 0, total, 1.0), 0.0)
    return weights @ v, weights


def multi_head_attention(query, value, key, weights, heads: int, key_dim: int, mask=None):
    """``keras.layers.MultiHeadAttention`` with Dense-shaped weights ``[wq, bq, wk, bk, wv, bv, wo, bo]``
    (each head's kernels side by side); ``mask`` (N, Lq, Lk) applies to every head. (output, scores)"""
    wq, bq, wk, bk, wv, bv, wo, bo = (np.asarray(w, dtype=np.float64) for w in weights)
    query, value, key = (np.asarray(a, dtype=np.float64) for a in (query, value, key))

    def split(x):
        n, length, _ = x.shape
        return x.reshape(n, length, heads, key_dim).transpose(0, 2, 1, 3)

    q, k, v = split(query @ wq + bq), split(key @ wk + bk), split(value @ wv + bv)
    logits = q @ k.transpose(0, 1, 3, 2) / np.sqrt(key_dim)
    if mask is not None:  # Keras masks with a large negative logit, so a fully masked row is spread evenly
        logits = np.where(np.asarray(mask)[:, None].astype(bool), logits, -1e9)
    scores = softmax(logits)
    attended = (scores @ v).transpose(0, 2, 1, 3).reshape(query.shape[0], query.shape[1], heads * key_dim)
    return attended @ wo + bo, scores


# --------------------------------------------------------------------------- handed-in models


def classified(model, x, labels, *, what: str, classes: int, batch_size: int = 512):
    """``correct_of(indices)``: whether the student's ``model`` (a ``tpdl.grading.student.Model``) puts
    each of those inputs of ``x`` in the class of ``labels``; an assertion naming ``what`` when its
    outputs are not ``classes`` scores per input."""
    labels = np.asarray(labels)

    def correct_of(indices: np.ndarray) -> np.ndarray:
        outputs = np.asarray(model.predict(x[indices], batch_size=batch_size))
        assert outputs.shape == (len(indices), classes), _(
            "{what} should output {classes} class probabilities per input, not shape {shape}",
            what=what,
            classes=classes,
            shape=outputs.shape[1:],
        )
        return outputs.argmax(axis=1) == labels[indices]

    return correct_of


CLEAR = 0.9  # the least share of images a served model must answer clearly (a trained MLP: all but a few)


def assert_clear(own: np.ndarray, what: str) -> None:
    """A service is checked against its model's own answers (``tpdl.grading.fresh.own_answers``: -1 where the
    model hesitates between two classes) only where they are clear: on at least :data:`CLEAR` of the
    images, or the check would compare too little to prove anything."""
    hesitant = int(np.sum(np.asarray(own) < 0))
    assert hesitant <= (1 - CLEAR) * len(own), _(
        "{what} hesitates between its two most probable classes on {hesitant} "
        "of {count} images: a service of it cannot be checked against its own "
        "answers; a trained classifier is clear on almost every image",
        what=what,
        hesitant=hesitant,
        count=len(own),
    )


def measure_accuracy(
    model, x, labels, *, what: str, where: str, classes: int, settle=(), batch_size: int = 512
) -> sequential.Accuracy:
    """How much of the set ``x`` (``where`` names it for the student) the student's ``model`` classifies
    right (see :func:`classified`).

    With ``settle`` (predicates of the accuracy, such as ``sequential.at_least(0.6974)``), the model
    predicts only as much of the set as it takes to answer each of them as the whole set would
    (``tpdl.grading.sequential``); without, it predicts every input.
    """
    correct_of = classified(model, x, labels, what=what, classes=classes, batch_size=batch_size)
    return sequential.decide(correct_of, len(labels), list(settle), where)


def fresh_check(
    plan: sequential.DrawnAccuracy, test: sequential.Accuracy, *, least_fresh: float, most_gap: float
) -> sequential.DrawnAccuracy:
    """What fresh inputs must show of a classifier measured ``test`` on the public test set: an
    accuracy of ``least_fresh``, and of the test set's less ``most_gap`` (a model trained on the
    training set does as well on fresh inputs; one that looks the test set up does not). Where
    ``test`` was measured on part of its set, its lower bound stands for it (wrong with probability
    at most half its error rate), so that only evidence fails a model."""
    gap_floor = test.low / test.total - most_gap
    if gap_floor > least_fresh:
        return plan.at(gap_floor, f"fresh accuracy at least the test set's less {most_gap}")
    return plan.at(least_fresh, f"fresh accuracy at least {least_fresh}")


def assert_generalises(
    what: str,
    test: sequential.Accuracy,
    fresh: sequential.Drawn,
    *,
    course: float,
    least_fresh: float,
    recognises: str,
) -> str:
    """A handed-in classifier's thresholds: its accuracy on the public ``test`` set reaches the
    ``course``'s (``test`` may be measured on part of its set, settling ``at_least(course)``); the
    ``fresh`` inputs drawn at grading time, decided by :func:`fresh_check`'s check, are no strong
    evidence that it does worse on them than ``least_fresh`` or than the test set allows. The note
    the student reads."""
    assert test.verdict(sequential.at_least(course)), _(
        "{what} classifies {test} correctly; {course:.2%} is needed",
        what=what,
        test=test.described("high"),
        course=course,
    )
    if not fresh.passed and fresh.threshold > least_fresh:
        raise AssertionError(
            _(
                "{what} classifies {test} correctly but only {fresh}: that is strong evidence that it does "
                "worse than {floor:.2%} on such {recognises}, more than the test set allows. A model trained "
                "on the training set does about as well on them; one that looks the test set up does not",
                what=what,
                test=test.described("low"),
                fresh=fresh.described(),
                floor=fresh.threshold,
                recognises=recognises,
            )
        )
    assert fresh.passed, _(
        "{what} classifies {test} correctly but only {fresh}: that is strong "
        "evidence that it does worse than the {least:.0%} needed on such "
        "{recognises}. Does it recognise {recognises}, or the test images?",
        what=what,
        test=test.described(),
        fresh=fresh.described(),
        least=least_fresh,
        recognises=recognises,
    )
    return _("{test}; {fresh}", test=test.described(), fresh=fresh.described())
