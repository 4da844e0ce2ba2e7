"""Hidden checks of ``train`` (grade cell ``train_tests``, 4 points).

The judge gives the student's ``train`` a fresh model of their ``build_dense_model`` and 2,000
MNIST images on the ``ci`` budget, then evaluates the trained model on 1,000 other images. The
pixels and the classes of every image are permuted with a seed drawn now (a dense network learns
them as well as the originals): a ``train`` that loads weights trained beforehand, or looks the
images up, learns nothing of them.
"""

import secrets

import numpy as np
import pytest

from tpdl.core import i18n
from tpdl.course import data
from tpdl.course.budget import Budget

_ = i18n.domain(__file__)

pytestmark = pytest.mark.cell("train_tests")

# The spec asks for no accuracy on the ci budget, only that train fits the model it is given on the
# data it is given. On images whose pixels and classes are permuted now, a model that did not learn
# from them (untrained, trained beforehand, a lookup) scores chance, 10 % (one standard error: 0.95
# point on 1,000 images). LEARNED is 20 standard errors above it, and below the slowest honest design
# measured: one epoch of plain SGD with dropout, 48 % to 61 %. A correct train's only randomness is
# its run: over 20 seeds the reference scored 82.0 % to 84.2 % (mean 83.7 %, standard deviation 0.63
# point, the 1,000 images' sampling included), so LEARNED lies 85 of its standard deviations below
# and 18 points below the slowest honest run seen. Twenty runs alone bound a false reject only to
# 3 in 20 (the rule of three); the distance is what keeps it far below the kit's 1e-4.
LEARNED = 0.30
KEYS = ("loss", "accuracy", "val_loss", "val_accuracy")


def prepared(images, labels, seed: int):
    """Flattened pixels / 255 and one-hot labels, pixels and classes permuted by ``seed``."""
    rng = np.random.default_rng(seed)
    pixels, classes = rng.permutation(784), rng.permutation(10)
    x = images.reshape(len(images), -1)[:, pixels].astype("float32") / 255.0
    return x, np.eye(10, dtype="float32")[classes[labels]]


@pytest.fixture(scope="module")
def trained(student):
    mnist = data.load_mnist(source="fixture")
    seed = secrets.randbelow(2**31)
    x, y = prepared(mnist.x_train[:2000], mnist.y_train[:2000], seed)
    history, model = student.train_model("train", "build_dense_model", x, y, Budget("ci"))
    return history, model, prepared(mnist.x_test[:1000], mnist.y_test[:1000], seed), seed


@pytest.mark.points(1)
def test_train_returns_the_history(trained):
    history, __, __, __ = trained
    epochs = len(history["epoch"])
    missing = [key for key in KEYS if key not in history["history"]]
    assert not missing, (
        _("the History should hold {keys} (hold out a validation split)", keys=", ".join(missing))
        if any(k.startswith("val_") for k in missing)
        else _("the History should hold {keys}", keys=", ".join(missing))
    )
    assert all(len(history["history"][key]) == epochs for key in KEYS), _(
        "the History should hold a value per epoch"
    )


@pytest.mark.points(1)
def test_train_respects_the_ci_budget(trained):
    history, __, __, __ = trained
    epochs = len(history["epoch"])
    assert 1 <= epochs <= 3, _("on the ci budget, train for 1 to 3 epochs, not {epochs}", epochs=epochs)


@pytest.mark.points(2)
def test_train_learns(trained):
    __, model, (x_test, y_test), seed = trained
    accuracy = float(np.mean(np.asarray(model.predict(x_test)).argmax(axis=1) == y_test.argmax(axis=1)))
    assert accuracy >= LEARNED, _(
        "after train on 2,000 images (ci budget), the model classifies {accuracy:.1%} of 1,000 other "
        "images correctly, where a model that learned nothing from them gets 10%: does train fit the model "
        "it is given, on the data it is given? (pixels and classes shuffled with seed {seed})",
        accuracy=accuracy,
        seed=seed,
    )
