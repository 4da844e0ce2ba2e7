"""Looks the layers up in a dictionary and freezes the model after building it."""


def build_feature_extractor(style_layers, content_layer, weights="imagenet"):
    base = keras.applications.VGG16(include_top=False, weights=weights)
    by_name = {layer.name: layer for layer in base.layers}
    wanted = list(style_layers) + [content_layer]
    missing = [name for name in wanted if name not in by_name]
    if missing:
        raise ValueError(f"unknown VGG16 layers: {missing}")
    model = keras.Model(inputs=base.inputs, outputs=[by_name[name].output for name in wanted])
    model.trainable = False
    return model
