"""Hidden checks of ``causal_mask`` and ``padding_mask`` (grade cell ``masks_tests``, 3 points)."""

import numpy as np
import pytest

from tpdl import grading
from tpdl.core import i18n
from tpdl.grading import as_array, assert_accepts

_ = i18n.domain(__file__)

lib = grading.grader_library(__file__)

pytestmark = pytest.mark.cell("masks_tests")


def _truth_values(value, what: str, shape: tuple) -> np.ndarray:
    """``value`` as a boolean array, or an assertion: the spec asks for booleans (0/1 numbers do not
    invert with ``~`` and index as positions)."""
    mask = as_array(value, what, shape)
    assert mask.dtype == bool, _(
        "{what} should be a boolean array, not one of {dtype} values", what=what, dtype=mask.dtype
    )
    return mask


@pytest.mark.points(1)
def test_causal_mask(student):
    for length in (1, 4, 9):
        mask = _truth_values(student.call("causal_mask", length), f"causal_mask({length})", (length, length))
        rows, cols = np.indices((length, length))
        assert np.array_equal(mask, cols <= rows), _(
            "causal_mask({length}) should let query i attend to keys 0..i only", length=length
        )


@pytest.mark.points(1)
def test_padding_mask(student):
    # the second batch has no sequence as long as max_length: a mask as wide as the longest is too short
    for values, max_length in (([0, 3, 6, 1], 6), ([2, 4], 7)):
        lengths = np.array(values)
        what = f"padding_mask({values}, {max_length})"
        mask = _truth_values(
            student.call("padding_mask", lengths, max_length), what, (len(values), 1, max_length)
        )
        expected = (np.arange(max_length)[None, :] < lengths[:, None])[:, None, :]
        assert np.array_equal(mask, expected), _(
            "{what} should be true for each sequence's real keys (the first `length` ones)", what=what
        )


@pytest.mark.points(1)
def test_padding_mask_refuses_impossible_lengths(student):
    assert_accepts(student, "padding_mask", np.array([2, 5]), 5)
    for lengths, why in (([2, 7], _("a length above max_length")), ([-1, 2], _("a negative length"))):
        lib.assert_refuses(
            student, "padding_mask", np.array(lengths), 5, what=_("padding_mask given {why}", why=why)
        )
