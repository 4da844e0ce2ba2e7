"""Hidden checks of ``build_unet`` (grade cell ``build_unet_tests``, 4 points).

Shapes for several depths and sizes, the parameter count of the specified configuration, the
skip connections read from the model's graph (one concatenation per level, joining the decoder's
up-sampled maps with the encoder's maps of the same resolution: the ones it pools), and the
numbers computed by a small U-Net given the judge's weights, against a NumPy reference.
"""

import numpy as np
import pytest

from tpdl import grading
from tpdl.core import i18n

_ = i18n.domain(__file__)

lib = grading.grader_library(__file__)

pytestmark = pytest.mark.cell("build_unet_tests")

DOWNSAMPLING = {"MaxPooling2D", "AveragePooling2D"}


def conv_parameters(channels_in, channels_out, kernel):
    return kernel * kernel * channels_in * channels_out + channels_out


def unet_parameters(channels, n_classes, base, depth):
    """The parameter count of the U-Net the notebook specifies."""
    total, current = 0, channels
    for filters in [base * 2**level for level in range(depth + 1)]:  # encoder blocks, then the bottleneck
        total += conv_parameters(current, filters, 3) + conv_parameters(filters, filters, 3)
        current = filters
    for level in reversed(range(depth)):
        filters = base * 2**level
        total += conv_parameters(current, filters, 2)  # up-sampling to the level's filters
        total += conv_parameters(2 * filters, filters, 3) + conv_parameters(filters, filters, 3)
        current = filters
    return total + conv_parameters(current, n_classes, 1)


@pytest.mark.points(1)
def test_build_unet_shapes_and_output_activation(student):
    cases = [
        (((64, 64, 1), 1, 4, 2), (None, 64, 64, 1)),
        (((32, 48, 3), 3, 4, 3), (None, 32, 48, 3)),
        (((16, 16, 2), 1, 2, 4), (None, 16, 16, 1)),
        (((16, 16, 1), 2, 2, 2), (None, 16, 16, 2)),  # two classes: a softmax over both, not a sigmoid
    ]
    rng = np.random.default_rng(53)
    for (shape, n_classes, base, depth), expected in cases:
        model = student.build_model("build_unet", shape, n_classes, base, depth)
        got = tuple(model.description["output_shape"])
        assert got == expected, _(
            "build_unet({shape}, n_classes={n_classes}, base_filters={base}, depth={depth}) should "
            "output {expected}, not {got}",
            shape=shape,
            n_classes=n_classes,
            base=base,
            depth=depth,
            expected=expected,
            got=got,
        )
        if n_classes > 1:
            out = np.asarray(model.predict(rng.uniform(size=(2, *shape)).astype(np.float32)))
            assert np.allclose(out.sum(axis=-1), 1.0, **lib.PROBABILITIES), _(
                "with {n_classes} classes, each pixel's outputs should be probabilities over the classes "
                "(a softmax)",
                n_classes=n_classes,
            )
        else:
            last = model.description["layers"][-1]
            assert last["config"].get("activation") == "sigmoid", _(
                "with one class, the U-Net should end with a sigmoid (a probability per pixel)"
            )


@pytest.mark.points(1)
def test_build_unet_parameter_count(student):
    for args in (((128, 128, 1), 1, 16, 4), ((64, 64, 3), 2, 8, 3)):
        model = student.build_model("build_unet", *args)
        count, expected = model.description["count_params"], unet_parameters(args[0][2], *args[1:])
        assert count == expected, _(
            "build_unet{args} holds {count:,} parameters, but the U-Net described in the notebook "
            "holds {expected:,}",
            args=args,
            count=count,
            expected=expected,
        )


@pytest.mark.points(1)
def test_build_unet_skips_join_the_encoder_at_each_level(student):
    depth, size = 3, 64
    model = student.build_model("build_unet", (size, size, 1), 1, 4, depth)
    layers = model.description["layers"]
    pooled = {name for layer in layers if layer["class_name"] in DOWNSAMPLING for name in layer["inbound"]}
    concatenations = model.layers_of("Concatenate")
    assert len(concatenations) == depth, _(
        "a U-Net of depth {depth} should hold {depth} skip connections (concatenations), not {count}",
        depth=depth,
        count=len(concatenations),
    )
    resolutions = set()
    for joined in concatenations:
        inbound = [model.layer(name) for name in joined["inbound"]]
        shapes = [tuple(layer["output_shape"] or ())[1:3] for layer in inbound]
        assert len(inbound) == 2 and shapes[0] == shapes[1], _(
            "each skip connection should join two maps of the same resolution (decoder and encoder)"
        )
        assert joined["config"].get("axis") in (-1, 3), _("concatenate the skips on the channel axis")
        assert any(layer["name"] in pooled for layer in inbound), _(
            "each skip should come from the encoder's maps of that level: the ones its pooling "
            "layer halves (not the level's input, nor its pooled output)"
        )
        resolutions.add(shapes[0])
    expected = {(size // 2**level, size // 2**level) for level in range(depth)}
    assert resolutions == expected, _(
        "the skip connections should join one level each, at resolutions {expected}, not {got}",
        expected=sorted(expected),
        got=sorted(resolutions),
    )


def up_transposed(x, kernel, bias):
    """A 2x2, stride-2 transposed convolution; Keras keeps its kernel as (2, 2, out, in)."""
    n, h, w, _channels = x.shape
    out = np.zeros((n, 2 * h, 2 * w, kernel.shape[2]))
    for a in range(2):
        for b in range(2):
            out[:, a::2, b::2, :] = x @ kernel[a, b].T
    return out + bias


def up_nearest_then_conv(x, kernel, bias):
    """UpSampling2D(2), then a 2x2 'same' convolution (padded after, as Keras pads an even kernel)."""
    return lib.conv2d(x.repeat(2, axis=1).repeat(2, axis=2), kernel, bias, padding=(0, 1))


def reference_unet(x, weights, depth, upsample):
    weights = iter(weights)

    def block(h):
        for __ in range(2):
            h = lib.relu(lib.conv2d(h, next(weights), next(weights), padding=(1, 1)))
        return h

    skips = []
    for __ in range(depth):
        skips.append(block(x))
        n, height, width, c = skips[-1].shape
        x = skips[-1].reshape(n, height // 2, 2, width // 2, 2, c).max(axis=(2, 4))
    x = block(x)
    for skip in reversed(skips):
        x = block(np.concatenate([upsample(x, next(weights), next(weights)), skip], axis=-1))
    logits = lib.conv2d(x, next(weights), next(weights), padding="valid")
    return 1 / (1 + np.exp(-logits))


@pytest.mark.points(1)
def test_build_unet_computes_the_specified_network(student):
    depth, base = 2, 2
    model = student.build_model("build_unet", (8, 8, 1), 1, base, depth)
    upsample = up_nearest_then_conv if "UpSampling2D" in model.layer_classes else up_transposed
    rng = np.random.default_rng(59)
    weights = [rng.normal(0, 0.5, np.shape(w)) for w in model.get_weights()]
    model.set_weights([w.astype(np.float32) for w in weights])
    x = rng.uniform(size=(3, 8, 8, 1)).astype(np.float32)
    try:
        expected = reference_unet(x, weights, depth, upsample)
    except (StopIteration, ValueError):
        expected = None
    out = np.asarray(model.predict(x))
    assert (
        expected is not None
        and out.shape == expected.shape
        and np.allclose(out, expected, **lib.FLOAT32_CHAIN)
    ), _(
        "with the judge's weights, build_unet((8, 8, 1), 1, 2, 2) does not compute the U-Net of the "
        "notebook: encoder blocks, bottleneck, decoder blocks concatenating [up-sampled, skip], a "
        "1x1 sigmoid convolution (its layers created in that order)"
    )
