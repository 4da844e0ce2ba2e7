"""Puts the training cell's `augmentation` layers after the input: only that cell, tagged
skip-grading, makes them, so the ResNet builds when the whole notebook runs and raises NameError
at grading.

loses: build_resnet_outputs_class_probabilities, build_resnet_parameter_count, build_resnet_has_nine_residual_additions, build_resnet_downsamples_where_stages_begin
"""


def build_resnet(input_shape=(32, 32, 3), n_classes=10, blocks_per_stage=3, base_filters=16):
    if len(input_shape) != 3:
        raise ValueError(f"input_shape should be (height, width, channels), not {input_shape}")
    if any(side % 4 for side in input_shape[:2]):
        raise ValueError(f"height and width must be multiples of 4 (halved twice), not {input_shape[:2]}")
    inputs = keras.Input(input_shape)
    x = layers.Rescaling(1 / 255)(augmentation(inputs))
    x = layers.Conv2D(base_filters, 3, padding="same", use_bias=False)(x)
    x = layers.ReLU()(layers.BatchNormalization()(x))
    for stage in range(3):
        for block in range(blocks_per_stage):
            stride = 2 if stage > 0 and block == 0 else 1
            x = residual_block(x, base_filters * 2**stage, stride)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(n_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="resnet")
