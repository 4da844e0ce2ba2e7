"""Keeps the history as a Python list of (None, 1, latent) tensors and joins the last window each step."""


def build_rollout(encoder, step, decoder, context=CONTEXT, horizon=HORIZON):
    window = step.input_shape[1]
    if window > context:
        raise ValueError(f"a window of {window} latents does not fit in {context} context frames")
    if not encoder.output_shape[-1] == step.input_shape[-1] == step.output_shape[-1]:
        raise ValueError("the encoder, the step's input and the step's output must share one latent size")
    frames = keras.Input((context, *encoder.input_shape[1:]))
    encoded = layers.TimeDistributed(encoder)(frames)
    history = [layers.Cropping1D((t, context - 1 - t))(encoded) for t in range(context)]
    for _ in range(horizon):
        recent = history[-window:]
        stacked = layers.Concatenate(axis=1)(recent) if window > 1 else recent[0]
        history.append(layers.Reshape((1, step.output_shape[-1]))(step(stacked)))
    future = history[context:]
    joined = layers.Concatenate(axis=1)(future) if horizon > 1 else future[0]
    return keras.Model(frames, layers.TimeDistributed(decoder)(joined))
