"""Forgets the shortcut: a plain conv-BN-ReLU-conv-BN-ReLU stack.

loses: residual_block_parameter_counts, residual_block_chooses_identity_or_projection, residual_block_computes_the_identity_block, residual_block_computes_the_projection_block
"""


def residual_block(x, filters, stride=1):
    y = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False)(x)
    y = layers.ReLU()(layers.BatchNormalization()(y))
    y = layers.Conv2D(filters, 3, padding="same", use_bias=False)(y)
    return layers.ReLU()(layers.BatchNormalization()(y))
