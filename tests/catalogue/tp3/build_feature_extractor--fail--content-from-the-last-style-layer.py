"""Takes the content activation from the last style layer, not from the content layer.

loses: build_feature_extractor_computes_vgg_activations
"""


def build_feature_extractor(style_layers, content_layer, weights="imagenet"):
    vgg = keras.applications.VGG16(include_top=False, weights=weights)
    names = [layer.name for layer in vgg.layers]
    for name in [*style_layers, content_layer]:
        if name not in names:
            raise ValueError(f"VGG16 has no layer {name}")
    vgg.trainable = False
    outputs = [vgg.get_layer(name).output for name in style_layers]
    return keras.Model(vgg.input, [*outputs, outputs[-1]])
