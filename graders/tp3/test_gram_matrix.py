"""Hidden checks of ``gram_matrix`` (grade cell ``gram_matrix_tests``, 3 points)."""

import numpy as np
import pytest

from tpdl import grading
from tpdl.core import i18n
from tpdl.grading import as_array

_ = i18n.domain(__file__)

lib = grading.grader_library(__file__)

pytestmark = pytest.mark.cell("gram_matrix_tests")

RNG = np.random.default_rng(71)


@pytest.mark.points(1)
def test_gram_matrix_follows_the_definition(student):
    features = RNG.normal(size=(2, 5, 7, 3)).astype(np.float32)
    gram = as_array(student.call("gram_matrix", features), "gram_matrix(features)")
    assert gram.shape == (2, 3, 3), _(
        "features of shape (2, 5, 7, 3) give 2 Gram matrices of shape (3, 3) (channels x channels), "
        "not {shape}",
        shape=gram.shape,
    )
    assert np.allclose(gram, lib.gram(features), **lib.TENSORS), _(
        "gram_matrix does not follow the definition: G_cd = sum over positions of F_c F_d, divided by H * W"
    )


@pytest.mark.points(1)
def test_gram_matrix_does_not_grow_with_the_image(student):
    features = RNG.normal(size=(1, 4, 3, 5)).astype(np.float32)
    tiled = np.tile(features, (1, 3, 2, 1))  # the same texture over 6 times the area
    small = as_array(student.call("gram_matrix", features), "gram_matrix(features)")
    large = as_array(student.call("gram_matrix", tiled), "gram_matrix(features)")
    assert small.shape == large.shape and np.allclose(small, large, **lib.TENSORS), _(
        "the same texture over a larger image should have the same Gram matrix: divide by the number "
        "of positions H * W"
    )


@pytest.mark.points(1)
def test_gram_matrix_on_tensors_and_bad_input(student):
    features = RNG.normal(size=(3, 6, 2, 4)).astype(np.float32)
    on_arrays = as_array(student.call("gram_matrix", features), "gram_matrix(array)")
    on_tensors = as_array(student.call_with_tensors("gram_matrix", features), "gram_matrix(tensor)")
    assert on_tensors.shape == on_arrays.shape and np.allclose(on_tensors, on_arrays, **lib.TENSORS), _(
        "gram_matrix gives other values on tensors than on arrays: use keras.ops throughout"
    )
    lib.assert_refuses(
        student,
        "gram_matrix",
        RNG.normal(size=(6, 2, 4)).astype(np.float32),
        what=_("features of rank 3 (no batch axis)"),
    )
