"""Hidden checks of ``plot_attention`` (grade cell ``plot_attention_tests``, 3 points): the figure
is graded on what it shows (its image's data, labels, colour bar), not on its pixels."""

import numpy as np
import pytest

from tpdl import grading
from tpdl.core import i18n

_ = i18n.domain(__file__)

lib = grading.grader_library(__file__)

pytestmark = pytest.mark.cell("plot_attention_tests")

WEIGHTS = np.random.default_rng(79).dirichlet(np.ones(5), size=3)  # 3 queries over 5 keys
QUERIES, KEYS = ["je", "suis", "là"], ["I", "am", "here", "now", "."]


@pytest.fixture(scope="module")
def drawn(student):
    figure = student.figure("plot_attention", WEIGHTS, QUERIES, KEYS)
    with_images = [ax for ax in figure["axes"] if ax["images"]]
    assert with_images, _("plot_attention should draw the weights as an image (imshow)")
    return with_images[0]


@pytest.mark.points(1)
def test_plot_shows_the_weights_with_queries_as_rows(drawn):
    image = np.asarray(drawn["images"][0])
    assert image.shape == WEIGHTS.shape and np.allclose(image, WEIGHTS, **lib.FLOAT32), _(
        "the image should be the weight matrix itself, queries as rows ({expected}), not "
        "an array of shape {shape} or other values",
        expected=WEIGHTS.shape,
        shape=image.shape,
    )


@pytest.mark.points(1)
def test_plot_labels_the_keys_and_the_queries(drawn):
    assert [t for t in drawn["xticklabels"] if t] == KEYS, _("label the x axis's ticks with the keys")
    assert [t for t in drawn["yticklabels"] if t] == QUERIES, _("label the y axis's ticks with the queries")
    assert drawn["xlabel"] and drawn["ylabel"], _("give both axes a title")


@pytest.mark.points(1)
def test_plot_has_a_colour_bar(drawn):
    assert drawn["colorbar"], _("add a colour bar for the weights' scale")
