"""The graders' shared NumPy references (``graders/graderlib.py``) against Keras and TensorFlow."""

import numpy as np
import pytest

from tpdl import grading

lib = grading.grader_library()
RNG = np.random.default_rng(5)


@pytest.mark.parametrize(
    ("kernel", "stride", "padding", "size"),
    [
        (3, 1, "same", 8),
        (3, 2, "same", 8),
        (3, 2, "same", 7),
        (1, 2, "valid", 8),
        (2, 1, "same", 6),
        (3, 1, "valid", 7),
        (5, 2, "same", 9),
    ],
)
def test_conv2d_is_keras_conv2d(kernel, stride, padding, size):
    import keras

    x = RNG.normal(size=(2, size, size, 3)).astype(np.float32)
    layer = keras.layers.Conv2D(4, kernel, strides=stride, padding=padding)
    want = np.asarray(layer(x))
    weights, bias = layer.get_weights()
    lib.assert_close(lib.conv2d(x, weights, bias, stride, padding), want, "conv2d", **lib.FLOAT32_CHAIN)


def test_conv2d_with_explicit_padding_is_zero_padding_then_valid():
    import keras

    x = RNG.normal(size=(1, 6, 6, 2)).astype(np.float32)
    layer = keras.layers.Conv2D(3, 2, padding="valid")
    want = np.asarray(layer(np.pad(x, ((0, 0), (0, 1), (0, 1), (0, 0)))))
    lib.assert_close(lib.conv2d(x, *layer.get_weights(), padding=(0, 1)), want, "conv2d", **lib.FLOAT32_CHAIN)


def test_max_pool_gram_total_variation_and_softmax():
    import keras

    x = RNG.normal(size=(2, 6, 4, 3)).astype(np.float32)
    lib.assert_close(lib.max_pool(x), np.asarray(keras.layers.MaxPooling2D(2)(x)), "max_pool")
    lib.assert_close(lib.gram(x), np.einsum("nhwc,nhwd->ncd", x, x) / (6 * 4), "gram")
    image = x[0]
    tv = np.mean(np.diff(image, axis=0) ** 2) + np.mean(np.diff(image, axis=1) ** 2)
    lib.assert_close(lib.total_variation(image), tv, "total_variation")
    logits = RNG.normal(size=(3, 5)) * 30
    lib.assert_close(lib.softmax(logits), np.asarray(keras.ops.softmax(logits.astype(np.float32))), "softmax")


def test_assertions_say_what_is_wrong():
    with pytest.raises(AssertionError, match="has shape"):
        lib.assert_close(np.zeros(2), np.zeros(3), "x")
    with pytest.raises(AssertionError, match="NaN"):
        lib.assert_close(np.array([np.nan]), np.zeros(1), "x")
    with pytest.raises(AssertionError, match="expected values"):
        lib.assert_close(np.ones(2), np.zeros(2), "x")
    assert lib.as_scalar(np.float32(2.5), "loss") == 2.5
    with pytest.raises(AssertionError, match="single number"):
        lib.as_scalar(np.zeros(2), "loss")


def test_a_service_is_compared_only_with_a_model_that_answers_clearly():
    from tpdl.grading import fresh

    logits = RNG.normal(size=(200, 10)) * 5
    clear = fresh.own_answers(lib.softmax(logits))
    lib.assert_clear(clear, "model.keras")
    # Logits scaled down until every image is a near tie: argmax unchanged, nothing left to compare.
    hesitant = fresh.own_answers(lib.softmax(logits * 1e-6))
    assert (hesitant == -1).all()
    with pytest.raises(AssertionError, match="hesitates between its two most probable classes on 200 of 200"):
        lib.assert_clear(hesitant, "model.keras")
