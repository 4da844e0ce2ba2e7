"""Datasets of the course: MNIST and CIFAR-10, from a local folder, the Keras cache or a download.

Order of preference:

1. ``TPDL_DATA_DIR`` names a folder holding ``mnist.npz`` / ``cifar10.npz`` with arrays
   ``x_train, y_train, x_test, y_test``;
2. otherwise ``keras.datasets`` (its cache, then a download with a short time-out).

Offline with neither, :class:`DataUnavailable` says what to do, at once (under ``nbgrader
validate``, which runs the ``ci`` budget, the kit's subset is used instead). ``source="fixture"``
returns the small subsets shipped with the kit (see ``tpdl/fixtures/README.md``).
"""

import contextlib
import os
import socket
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tpdl.core.i18n import KIT as _
from tpdl.core.paths import FIXTURES

ENV = "TPDL_DATA_DIR"
DOWNLOAD_TIMEOUT_S = 15
KEYS = ("x_train", "y_train", "x_test", "y_test")
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


class DataUnavailable(RuntimeError):
    """The dataset is neither in ``TPDL_DATA_DIR``, nor cached, nor downloadable."""


@dataclass(frozen=True)
class Dataset:
    """Images as uint8, labels as uint8 of shape (N,); ``origin`` says where they came from."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    origin: str

    @property
    def is_fixture(self) -> bool:
        return self.origin.startswith("fixture")


def _from_npz(path: Path, origin: str) -> Dataset:
    with np.load(path, allow_pickle=False) as archive:
        missing = [k for k in KEYS if k not in archive]
        if missing:
            raise DataUnavailable(
                _("{file} lacks the arrays {arrays}", file=path.name, arrays=", ".join(missing))
            )
        arrays = {k: archive[k] for k in KEYS}
    for k in ("y_train", "y_test"):
        arrays[k] = arrays[k].reshape(-1).astype(np.uint8)
    return Dataset(**arrays, origin=origin)


def _keras_cache(*parts: str) -> Path:
    """A path in Keras's cache folder (``KERAS_HOME``, ``~/.keras`` by default)."""
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")).joinpath(*parts)


@contextlib.contextmanager
def _download_time_out():
    """Downloads made inside give up after ``DOWNLOAD_TIMEOUT_S`` without an answer."""
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(DOWNLOAD_TIMEOUT_S)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


def _from_keras(name: str) -> Dataset:
    import keras  # imported here: the fixture and folder paths do not need TensorFlow

    loader = {"mnist": keras.datasets.mnist, "cifar10": keras.datasets.cifar10}[name]
    try:
        with _download_time_out():
            (x_train, y_train), (x_test, y_test) = loader.load_data()
    except Exception as error:  # noqa: BLE001 - any failure of the download: say what to do instead
        raise DataUnavailable(
            _(
                "{name} is not cached by Keras and could not be downloaded ({error}). Either connect to the "
                "internet once, or set {variable} to a folder holding {name}.npz with the arrays {arrays}.",
                name=name,
                error=type(error).__name__,
                variable=ENV,
                arrays=", ".join(KEYS),
            )
        ) from None
    y_train, y_test = y_train.reshape(-1).astype(np.uint8), y_test.reshape(-1).astype(np.uint8)
    return Dataset(x_train, y_train, x_test, y_test, origin=f"keras.datasets.{name}")


def load(name: str, source: str = "auto") -> Dataset:
    """Load ``mnist`` or ``cifar10``; ``source`` is ``auto``, ``fixture``, ``folder`` or ``keras``."""
    if name not in ("mnist", "cifar10"):
        raise ValueError(_("unknown dataset {name}: choose 'mnist' or 'cifar10'", name=repr(name)))
    if source not in ("auto", "fixture", "folder", "keras"):
        raise ValueError(
            _("unknown source {source}: choose auto, fixture, folder or keras", source=repr(source))
        )
    if source == "fixture":
        return _from_npz(FIXTURES / f"{name}.npz", origin=f"fixture ({name} subset shipped with the kit)")
    folder = os.environ.get(ENV)
    if folder and source in ("auto", "folder"):
        path = Path(folder) / f"{name}.npz"
        if not path.is_file():
            raise DataUnavailable(
                _("{variable} is set but holds no {name}.npz ({path})", variable=ENV, name=name, path=path)
            )
        return _from_npz(path, origin=f"{ENV}/{name}.npz")
    if source == "folder":
        raise DataUnavailable(
            _("{variable} is not set: point it at a folder holding {name}.npz", variable=ENV, name=name)
        )
    try:
        return _from_keras(name)
    except DataUnavailable:
        if os.environ.get("NBGRADER_EXECUTION") != "validate":
            raise
        # Validation checks that the notebook runs and passes its visible tests, on the `ci`
        # budget: offline, the subset shipped with the kit is enough for it.
        print(_("validation: {name} cannot be downloaded here; the kit's subset of it is used", name=name))
        return load(name, "fixture")


KERAS_CACHE = {"mnist": "mnist.npz", "cifar10": "cifar-10-batches-py"}


def load_at_hand(name: str) -> Dataset:
    """The full dataset where it is at hand (``TPDL_DATA_DIR``, Keras's cache), the fixture otherwise.

    Never downloads: graders use it to evaluate on all the test images a machine has, quickly.
    """
    cache = _keras_cache("datasets", KERAS_CACHE[name])
    if os.environ.get(ENV):
        return load(name, "folder")
    if cache.exists():
        return load(name, "keras")
    return load(name, "fixture")


def files_at_hand() -> list[tuple[str, Path]]:
    """``(origin, path)`` of every dataset file :func:`load_at_hand` reads here (cache keys cover them;
    the fixtures are part of the kit)."""
    found = []
    folder = os.environ.get(ENV)
    for name in KERAS_CACHE:
        if folder:
            found.append((f"{ENV}/{name}.npz", Path(folder) / f"{name}.npz"))
            continue
        cache = _keras_cache("datasets", KERAS_CACHE[name])
        files = (
            [cache]
            if cache.is_file()
            else sorted(p for p in cache.rglob("*") if p.is_file())
            if cache.is_dir()
            else []
        )
        found += [(f"keras cache {file.relative_to(cache.parent)}", file) for file in files]
    return [(origin, path) for origin, path in found if path.is_file()]


def load_mnist(source: str = "auto") -> Dataset:
    """MNIST: x (N, 28, 28) uint8, y (N,) uint8."""
    return load("mnist", source)


def load_cifar10(source: str = "auto") -> Dataset:
    """CIFAR-10: x (N, 32, 32, 3) uint8, y (N,) uint8."""
    return load("cifar10", source)


VGG16_ENV = "TPDL_VGG16_WEIGHTS"
VGG16_NOTOP = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"


def vgg16_weights(download: bool = True) -> tuple[str | None, str]:
    """``(weights, why)``: what to pass as ``keras.applications.VGG16(weights=...)``, and a sentence
    saying it.

    In order: the weights file named by ``TPDL_VGG16_WEIGHTS``; ``"imagenet"`` when Keras has the
    ImageNet weights in its cache, or (``download=True``) can download them within a short time-out;
    otherwise None, random weights: the code runs the same, but its features mean nothing.
    """
    named = os.environ.get(VGG16_ENV)
    if named:
        if not Path(named).is_file():
            raise DataUnavailable(
                _("{variable} names {file}, which is not a file", variable=VGG16_ENV, file=named)
            )
        return named, _("VGG16 weights from {file} ({variable})", file=named, variable=VGG16_ENV)
    if _keras_cache("models", VGG16_NOTOP).is_file():
        return "imagenet", _("VGG16 with its ImageNet weights (from Keras's cache)")
    if not download:
        return None, _(
            "VGG16 with RANDOM weights: the ImageNet weights are not in Keras's cache (no download on this "
            "budget). The code runs the same, but the features mean nothing: set {variable} to a local "
            "{file} to use real ones",
            variable=VGG16_ENV,
            file=VGG16_NOTOP,
        )
    import keras

    try:
        with _download_time_out():
            keras.applications.VGG16(include_top=False, weights="imagenet")  # fills Keras's cache
    except Exception as error:  # noqa: BLE001 - offline: say so and go on with random weights
        return None, _(
            "VGG16 with RANDOM weights: the ImageNet weights could not be downloaded ({error}). The code "
            "runs the same, but the features mean nothing: set {variable} to a local {file} to use real ones",
            error=type(error).__name__,
            variable=VGG16_ENV,
            file=VGG16_NOTOP,
        )
    return "imagenet", _("VGG16 with its ImageNet weights (downloaded into Keras's cache)")
