"""Adds the shortcut with ``+`` and applies ``keras.ops.relu``: Keras 3 records both as operations
of the graph, not as layers; the block computes the same thing as with ``layers.Add``, and so does the ResNet built of it.

cells: residual_block_tests, build_resnet_tests
"""


def residual_block(x, filters, stride=1):
    if len(x.shape) != 4 or stride not in (1, 2):
        raise ValueError("expected a 4-D tensor and a stride of 1 or 2")
    main = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False)(x)
    main = keras.ops.relu(layers.BatchNormalization()(main))
    main = layers.BatchNormalization()(layers.Conv2D(filters, 3, padding="same", use_bias=False)(main))
    shortcut = x
    if stride != 1 or x.shape[-1] != filters:
        shortcut = layers.BatchNormalization()(layers.Conv2D(filters, 1, strides=stride, use_bias=False)(x))
    return layers.ReLU()(main + shortcut)
