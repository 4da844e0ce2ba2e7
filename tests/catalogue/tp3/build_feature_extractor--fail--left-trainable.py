"""Forgets to freeze VGG16: its weights would move with the image.

loses: build_feature_extractor_is_frozen
"""


def build_feature_extractor(style_layers, content_layer, weights="imagenet"):
    vgg = keras.applications.VGG16(include_top=False, weights=weights)
    names = [layer.name for layer in vgg.layers]
    for name in [*style_layers, content_layer]:
        if name not in names:
            raise ValueError(f"VGG16 has no layer {name}")
    return keras.Model(vgg.input, [vgg.get_layer(name).output for name in [*style_layers, content_layer]])
