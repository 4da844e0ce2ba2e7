"""Do budgets and data loaders behave as the notebooks and graders expect?"""

import time

import numpy as np
import pytest

from tpdl.course import budget, data


def test_the_default_budget_is_full(monkeypatch):
    monkeypatch.delenv("TPDL_BUDGET", raising=False)
    assert budget.current().is_full


def test_the_ci_budget_picks_small_values_and_subsets(monkeypatch):
    monkeypatch.setenv("TPDL_BUDGET", "ci")
    current = budget.current()
    assert current.pick(full=12, ci=1) == 1
    (x,) = current.subset(np.arange(10), ci=3)
    assert len(x) == 3
    assert len(budget.Budget("full").subset(np.arange(10), ci=3)[0]) == 10


def test_an_unknown_budget_says_which_exist(monkeypatch):
    monkeypatch.setenv("TPDL_BUDGET", "huge")
    with pytest.raises(ValueError, match="full, ci"):
        budget.current()


@pytest.mark.parametrize(("name", "shape"), [("mnist", (28, 28)), ("cifar10", (32, 32, 3))])
def test_fixtures_hold_real_images_and_labels(name, shape):
    dataset = data.load(name, source="fixture")
    assert dataset.is_fixture and dataset.x_train.shape[1:] == shape and dataset.x_train.dtype == np.uint8
    assert dataset.y_test.ndim == 1 and set(np.unique(dataset.y_test)) == set(range(10))


def test_a_data_folder_is_used_when_named(tmp_path, monkeypatch):
    arrays = {k: np.zeros((4, 28, 28) if k.startswith("x") else (4, 1), np.uint8) for k in data.KEYS}
    np.savez(tmp_path / "mnist.npz", **arrays)
    monkeypatch.setenv(data.ENV, str(tmp_path))
    dataset = data.load_mnist()
    assert dataset.origin == f"{data.ENV}/mnist.npz" and dataset.y_train.shape == (4,)


def test_a_data_folder_without_the_file_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv(data.ENV, str(tmp_path))
    with pytest.raises(data.DataUnavailable, match="holds no cifar10.npz"):
        data.load_cifar10()


def test_an_archive_missing_arrays_says_which(tmp_path, monkeypatch):
    np.savez(tmp_path / "mnist.npz", x_train=np.zeros((1, 28, 28), np.uint8))
    monkeypatch.setenv(data.ENV, str(tmp_path))
    with pytest.raises(data.DataUnavailable, match="y_train, x_test, y_test"):
        data.load_mnist()


def test_offline_without_a_data_folder_the_error_says_what_to_do_at_once(tmp_path, monkeypatch):
    import keras.src.datasets.mnist as keras_mnist

    def offline(*args, **kwargs):
        raise Exception("URL fetch failure: no network")

    monkeypatch.delenv(data.ENV, raising=False)
    monkeypatch.setattr(keras_mnist, "get_file", offline)
    started = time.monotonic()
    with pytest.raises(data.DataUnavailable, match=data.ENV):
        data.load_mnist()
    assert time.monotonic() - started < 5


def test_unknown_names_and_sources_are_refused():
    with pytest.raises(ValueError, match="mnist"):
        data.load("imagenet")
    with pytest.raises(ValueError, match="fixture"):
        data.load("mnist", source="web")


def test_graders_evaluate_on_the_data_at_hand_and_never_download(tmp_path, monkeypatch):
    monkeypatch.delenv("TPDL_DATA_DIR", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))  # an empty cache: no download is tried
    assert data.load_at_hand("mnist").is_fixture
    folder = tmp_path / "data"
    folder.mkdir()
    fixture = data.load("mnist", "fixture")
    np.savez(
        folder / "mnist.npz",
        x_train=fixture.x_train,
        y_train=fixture.y_train,
        x_test=fixture.x_test,
        y_test=fixture.y_test,
    )
    monkeypatch.setenv("TPDL_DATA_DIR", str(folder))
    assert not data.load_at_hand("mnist").is_fixture


def test_vgg16_weights_come_from_the_named_file(tmp_path, monkeypatch):
    weights = tmp_path / "vgg16_notop.h5"
    weights.write_bytes(b"not really weights")
    monkeypatch.setenv(data.VGG16_ENV, str(weights))
    assert data.vgg16_weights(download=False) == (
        str(weights),
        f"VGG16 weights from {weights} ({data.VGG16_ENV})",
    )
    monkeypatch.setenv(data.VGG16_ENV, str(tmp_path / "missing.h5"))
    with pytest.raises(data.DataUnavailable, match="missing.h5, which is not a file"):
        data.vgg16_weights(download=False)


def test_vgg16_weights_from_the_keras_cache_or_random_with_a_warning(tmp_path, monkeypatch):
    monkeypatch.delenv(data.VGG16_ENV, raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    weights, why = data.vgg16_weights(download=False)
    assert weights is None and "RANDOM weights" in why and data.VGG16_ENV in why
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / data.VGG16_NOTOP).write_bytes(b"cached")
    assert data.vgg16_weights(download=False)[0] == "imagenet"
