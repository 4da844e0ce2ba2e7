"""Hidden checks of ``scaled_dot_product_attention`` (grade cell ``scaled_dot_product_attention_tests``,
5 points), against a float64 NumPy reference over random shapes with batch and head axes."""

import numpy as np
import pytest

from tpdl import grading
from tpdl.core import i18n
from tpdl.grading import as_array

_ = i18n.domain(__file__)

lib = grading.grader_library(__file__)

pytestmark = pytest.mark.cell("scaled_dot_product_attention_tests")

RNG = np.random.default_rng(71)


def qkv(*lead, lq=4, lk=6, d=8, dv=5, scale=1.0):
    return (
        RNG.normal(size=(*lead, lq, d)) * scale,
        RNG.normal(size=(*lead, lk, d)) * scale,
        RNG.normal(size=(*lead, lk, dv)),
    )


def attend(student, q, k, v, mask=None):
    answer = student.call("scaled_dot_product_attention", q, k, v, mask)
    assert isinstance(answer, (tuple, list)) and len(answer) == 2, _(
        "scaled_dot_product_attention should return (output, weights)"
    )
    out = as_array(answer[0], _("the attention output"), q.shape[:-1] + v.shape[-1:])
    weights = as_array(answer[1], _("the attention weights"), q.shape[:-1] + k.shape[-2:-1])
    return out, weights


def check(student, q, k, v, mask, what, tolerance=lib.TENSORS):
    out, weights = attend(student, q, k, v, mask)
    expected_out, expected_weights = lib.attention(q, k, v, mask)
    assert np.all(np.isfinite(weights)) and np.all(np.isfinite(out)), _(
        "{what}: the result holds NaN or infinities", what=what
    )
    assert np.allclose(weights, expected_weights, **tolerance), _(
        "{what}: the weights differ from softmax over the keys of Q K^T / sqrt(d)", what=what
    )
    assert np.allclose(out, expected_out, **tolerance), _(
        "{what}: the output should be the weights times V", what=what
    )
    return weights


@pytest.mark.points(1)
def test_attention_without_mask(student):
    for lead, d in (((2,), 8), ((2, 3), 4), ((1, 2, 2), 16)):
        check(
            student,
            *qkv(*lead, d=d),
            None,
            _("attention on inputs with leading axes {lead} and depth {depth}", lead=lead, depth=d),
        )


@pytest.mark.points(1)
def test_attention_with_causal_and_padding_masks(student):
    q, k, v = qkv(2, 3, lq=5, lk=5)
    causal = np.tril(np.ones((5, 5), dtype=bool))
    weights = check(student, q, k, v, causal, _("attention with a causal mask"))
    assert np.all(weights[..., ~causal] == 0), _("masked keys should get exactly zero weight")
    lengths = np.array([2, 5])
    padding = (np.arange(5)[None, :] < lengths[:, None])[:, None, None, :]  # (batch, 1, 1, keys)
    weights = check(student, q, k, v, padding, _("attention with a padding mask"))
    assert np.allclose(weights.sum(axis=-1), 1.0, **lib.TENSORS), _(
        "each query's weights should sum to 1 over its allowed keys"
    )


@pytest.mark.points(1)
def test_attention_is_stable_for_large_logits(student):
    q, k, v = qkv(2, lq=3, lk=4, d=4, scale=40.0)  # logits of several hundreds
    check(student, q, k, v, None, _("attention with large logits"), lib.FLOAT32_CHAIN)


@pytest.mark.points(1)
def test_a_query_with_no_allowed_key_gets_zeros(student):
    q, k, v = qkv(2, lq=3, lk=4)
    mask = np.ones((2, 3, 4), dtype=bool)
    mask[0, 1] = False  # query 1 of sample 0 may attend to nothing
    out, weights = attend(student, q, k, v, mask)
    assert not np.isnan(out).any() and not np.isnan(weights).any(), _("a query with no allowed key gave NaN")
    assert np.all(weights[0, 1] == 0) and np.allclose(out[0, 1], 0.0), _(
        "a query that may attend to no key should get zero weights and a zero output"
    )
    check(student, q, k, v, mask, _("attention with a fully masked query"))


@pytest.mark.points(1)
def test_attention_takes_float_masks_and_refuses_bad_input(student):
    q, k, v = qkv(2, lq=4, lk=4)
    check(student, q, k, v, np.tril(np.ones((4, 4))).astype(np.float32), _("attention with a 0/1 float mask"))
    bad = {
        _("queries and keys of different depths"): (q, k[..., :3], v, None),
        _("keys and values of different lengths"): (q, k, v[:, :3], None),
        _("a mask that does not broadcast"): (q, k, v, np.ones((3, 4), dtype=bool)),
    }
    for what, args in bad.items():
        lib.assert_refuses(
            student,
            "scaled_dot_product_attention",
            *args,
            what=_("scaled_dot_product_attention given {what}", what=what),
        )
