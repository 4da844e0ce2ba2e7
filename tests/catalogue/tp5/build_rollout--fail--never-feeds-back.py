"""Predicts every future latent from the context's last window: the predictions never join the history.

loses: rollout_feeds_its_predictions_back
"""


def build_rollout(encoder, step, decoder, context=CONTEXT, horizon=HORIZON):
    window, latent_dim = step.input_shape[1], step.input_shape[2]
    if window > context:
        raise ValueError(f"the step reads {window} latents but the context has only {context} frames")
    if encoder.output_shape[-1] != latent_dim or step.output_shape[-1] != latent_dim:
        raise ValueError("the encoder's latents are not the step's")
    frames = keras.Input((context, *encoder.input_shape[1:]))
    latents = layers.TimeDistributed(encoder)(frames)
    recent = layers.Cropping1D((context - window, 0))(latents)
    predicted = [layers.Reshape((1, latent_dim))(step(recent)) for _ in range(horizon)]
    future = layers.Concatenate(axis=1)(predicted) if horizon > 1 else predicted[0]
    return keras.Model(frames, layers.TimeDistributed(decoder)(future))
