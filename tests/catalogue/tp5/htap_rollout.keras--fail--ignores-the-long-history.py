"""The reference H-TAP fed only the last 6 latents (the older 14 replaced by copies of the oldest kept): TAP's memory.

apply: edit
cells: htap_models_tests
loses: htap_beats_tap_far_ahead, htap_uses_the_oldest_context_frames
"""


def edit(folder):
    import keras
    from keras import layers

    rollout = keras.saving.load_model(folder / "htap_rollout.keras")
    wrapped = [layer for layer in rollout.layers if isinstance(layer, layers.TimeDistributed)]
    encoder, decoder = wrapped[0].layer, wrapped[-1].layer
    step = next(layer for layer in rollout.layers if isinstance(layer, keras.Model))
    context, latent_dim, window = 20, step.input_shape[2], 6

    recent = keras.Input((window, latent_dim))
    oldest = layers.RepeatVector(context - window)(
        layers.Flatten()(layers.Cropping1D((0, window - 1))(recent))
    )
    short_step = keras.Model(recent, step(layers.Concatenate(axis=1)([oldest, recent])))

    frames = keras.Input((context, 32, 32, 1))
    history = layers.TimeDistributed(encoder)(frames)
    for known in range(context, context + 20):
        predicted = short_step(layers.Cropping1D((known - window, 0))(history))
        history = layers.Concatenate(axis=1)([history, layers.Reshape((1, latent_dim))(predicted)])
    future = layers.TimeDistributed(decoder)(layers.Cropping1D((context, 0))(history))
    keras.Model(frames, future).save(folder / "htap_rollout.keras")
