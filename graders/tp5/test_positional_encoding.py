"""Hidden checks of ``positional_encoding`` (grade cell ``positional_encoding_tests``, 2 points)."""

import numpy as np
import pytest

from tpdl import grading
from tpdl.core import i18n
from tpdl.grading import as_array

_ = i18n.domain(__file__)

lib = grading.grader_library(__file__)

pytestmark = pytest.mark.cell("positional_encoding_tests")


def reference_encoding(length, depth):
    angles = np.arange(length)[:, None] / 10000 ** (2 * (np.arange(depth) // 2) / depth)[None, :]
    return np.where(np.arange(depth) % 2 == 0, np.sin(angles), np.cos(angles))


@pytest.mark.points(1)
def test_positional_encoding_is_the_sinusoidal_one(student):
    for length, depth in ((50, 16), (7, 4), (128, 64)):
        encoding = as_array(
            student.call("positional_encoding", length, depth),
            f"positional_encoding({length}, {depth})",
            (length, depth),
        )
        assert np.allclose(encoding, reference_encoding(length, depth), **lib.TENSORS), _(
            "positional_encoding({length}, {depth}) differs from the sinusoidal encoding of the notebook",
            length=length,
            depth=depth,
        )


@pytest.mark.points(1)
def test_positional_encoding_dtype_and_odd_depth(student):
    encoding = student.call("positional_encoding", 5, 8)
    assert getattr(encoding, "dtype", None) == np.float32, _("positional_encoding should return float32")
    lib.assert_refuses(student, "positional_encoding", 5, 7, what=_("positional_encoding with an odd depth"))
