"""Builds the shortcut before the main path, with layers.add and Activation layers."""


def residual_block(x, filters, stride=1):
    if len(x.shape) != 4 or stride not in (1, 2):
        raise ValueError("expected a 4-D tensor and a stride of 1 or 2")
    needs_projection = stride > 1 or x.shape[-1] != filters
    shortcut = x
    if needs_projection:
        shortcut = layers.Conv2D(filters, (1, 1), strides=(stride, stride), use_bias=False)(x)
        shortcut = layers.BatchNormalization(epsilon=1e-5)(shortcut)
    main = layers.Conv2D(filters, (3, 3), strides=(stride, stride), padding="same", use_bias=False)(x)
    main = layers.Activation("relu")(layers.BatchNormalization(epsilon=1e-5)(main))
    main = layers.Conv2D(filters, (3, 3), padding="same", use_bias=False)(main)
    main = layers.BatchNormalization(epsilon=1e-5)(main)
    return layers.Activation("relu")(layers.add([main, shortcut]))
