"""keras.ops matmul/swapaxes attention with where-masking, np.tril masks, PE by slice assignment, strided convs, growing history cropped each step, tf.image.ssim.

Written from the student release alone.
"""
# %% scaled_dot_product_attention
def _known(dim):
    return dim is not None


def scaled_dot_product_attention(q, k, v, mask=None):
    """Attention of queries ``q`` over keys ``k`` and values ``v``: ``(output, weights)``."""
    q = keras.ops.convert_to_tensor(q)
    k = keras.ops.convert_to_tensor(k, dtype=q.dtype)
    v = keras.ops.convert_to_tensor(v, dtype=q.dtype)
    q_shape, k_shape, v_shape = tuple(q.shape), tuple(k.shape), tuple(v.shape)
    if len(q_shape) < 2 or len(k_shape) < 2 or len(v_shape) < 2:
        raise ValueError("queries, keys and values need at least two axes (length, depth)")
    if _known(q_shape[-1]) and _known(k_shape[-1]) and q_shape[-1] != k_shape[-1]:
        raise ValueError(f"queries of depth {q_shape[-1]} and keys of depth {k_shape[-1]} differ")
    if _known(k_shape[-2]) and _known(v_shape[-2]) and k_shape[-2] != v_shape[-2]:
        raise ValueError(f"{k_shape[-2]} keys but {v_shape[-2]} values")
    depth = q_shape[-1] if _known(q_shape[-1]) else keras.ops.shape(q)[-1]
    logits = keras.ops.matmul(q, keras.ops.swapaxes(k, -1, -2))
    logits = logits / keras.ops.sqrt(keras.ops.cast(depth, logits.dtype))
    if mask is None:
        weights = keras.ops.softmax(logits, axis=-1)
    else:
        mask = keras.ops.convert_to_tensor(mask)
        target = tuple(logits.shape)
        mask_shape = tuple(mask.shape)
        if len(mask_shape) > len(target):
            raise ValueError(f"a mask of shape {mask_shape} does not broadcast to {target}")
        for m, t in zip(reversed(mask_shape), reversed(target)):
            if _known(m) and _known(t) and m != 1 and m != t:
                raise ValueError(f"a mask of shape {mask_shape} does not broadcast to {target}")
        allowed = keras.ops.cast(mask, "bool")
        logits = keras.ops.where(allowed, logits, keras.ops.cast(-1e9, logits.dtype))
        weights = keras.ops.softmax(logits, axis=-1)
        any_key = keras.ops.any(keras.ops.broadcast_to(allowed, keras.ops.shape(logits)), axis=-1, keepdims=True)
        weights = keras.ops.where(any_key, weights, keras.ops.zeros_like(weights))
    output = keras.ops.matmul(weights, v)
    return output, weights


# %% masks
def causal_mask(length):
    """``(length, length)`` booleans: query i may attend to keys 0..i."""
    if int(length) != length or length < 0:
        raise ValueError(f"the length must be a non-negative integer, not {length!r}")
    return np.tril(np.ones((int(length), int(length)), dtype=bool))


def padding_mask(lengths, max_length):
    """``(batch, 1, max_length)`` booleans: true for each sequence's real keys."""
    lengths = np.asarray(lengths)
    if lengths.ndim != 1:
        raise ValueError(f"lengths should be one number per sequence, not of shape {lengths.shape}")
    if max_length < 0:
        raise ValueError(f"max_length must be non-negative, not {max_length}")
    if np.any(lengths < 0) or np.any(lengths > max_length):
        raise ValueError(f"every length must lie in [0, {max_length}], not {lengths.tolist()}")
    mask = np.zeros((len(lengths), 1, int(max_length)), dtype=bool)
    for row, length in enumerate(lengths):
        mask[row, 0, : int(length)] = True
    return mask


# %% multi_head_attention
class MultiHeadAttention(layers.Layer):
    """Multi-head attention with learned query, key, value and output projections."""

    def __init__(self, num_heads, key_dim, **kwargs):
        super().__init__(**kwargs)
        if num_heads < 1 or key_dim < 1:
            raise ValueError(f"num_heads and key_dim must be at least 1, not {num_heads} and {key_dim}")
        self.num_heads = num_heads
        self.key_dim = key_dim
        self.query_dense = layers.Dense(num_heads * key_dim, name="query")
        self.key_dense = layers.Dense(num_heads * key_dim, name="key")
        self.value_dense = layers.Dense(num_heads * key_dim, name="value")
        self.output_dense = None

    def build(self, query_shape, value_shape, key_shape=None):
        if key_shape is None:
            key_shape = value_shape
        self.query_dense.build(query_shape)
        self.key_dense.build(key_shape)
        self.value_dense.build(value_shape)
        self.output_dense = layers.Dense(query_shape[-1], name="attention_output")
        self.output_dense.build(tuple(query_shape[:-1]) + (self.num_heads * self.key_dim,))
        self.built = True

    def _split_heads(self, x):
        shape = keras.ops.shape(x)
        x = keras.ops.reshape(x, (shape[0], shape[1], self.num_heads, self.key_dim))
        return keras.ops.transpose(x, (0, 2, 1, 3))

    def call(self, query, value, key=None, attention_mask=None, return_attention_scores=False):
        if key is None:
            key = value
        q = self._split_heads(self.query_dense(query))
        k = self._split_heads(self.key_dense(key))
        v = self._split_heads(self.value_dense(value))
        mask = None
        if attention_mask is not None:
            mask = keras.ops.expand_dims(keras.ops.convert_to_tensor(attention_mask), axis=1)
        attended, weights = scaled_dot_product_attention(q, k, v, mask)
        attended = keras.ops.transpose(attended, (0, 2, 1, 3))
        shape = keras.ops.shape(attended)
        attended = keras.ops.reshape(attended, (shape[0], shape[1], self.num_heads * self.key_dim))
        output = self.output_dense(attended)
        if return_attention_scores:
            return output, weights
        return output


# %% positional_encoding
def positional_encoding(length, depth):
    """The sinusoidal positional encoding: ``(length, depth)`` float32."""
    if length < 0:
        raise ValueError(f"the length must be non-negative, not {length}")
    if depth < 0 or depth % 2 != 0:
        raise ValueError(f"the depth must be an even number, not {depth}")
    positions = np.arange(length, dtype=np.float64)[:, None]
    rates = 1.0 / np.power(10000.0, np.arange(0, depth, 2, dtype=np.float64) / depth)
    angles = positions * rates[None, :]
    encoding = np.zeros((length, depth), dtype=np.float64)
    encoding[:, 0::2] = np.sin(angles)
    encoding[:, 1::2] = np.cos(angles)
    return encoding.astype(np.float32)


# %% plot_attention
def plot_attention(weights, query_labels, key_labels):
    """A heat map of attention weights, queries as rows; returns the Figure."""
    weights = np.asarray(weights)
    if weights.ndim != 2:
        raise ValueError(f"the weights should be a (Lq, Lk) matrix, not of shape {weights.shape}")
    if len(query_labels) != weights.shape[0] or len(key_labels) != weights.shape[1]:
        raise ValueError(
            f"{len(query_labels)} query and {len(key_labels)} key labels for weights of shape {weights.shape}"
        )
    figure, axis = plt.subplots(figsize=(5, 4))
    image = axis.imshow(weights, cmap="viridis")
    axis.set_xticks(np.arange(weights.shape[1]))
    axis.set_xticklabels(key_labels, rotation=45)
    axis.set_yticks(np.arange(weights.shape[0]))
    axis.set_yticklabels(query_labels)
    axis.set_xlabel("key")
    axis.set_ylabel("query")
    figure.colorbar(image, ax=axis)
    figure.tight_layout()
    return figure


# %% build_frame_autoencoder
def build_frame_autoencoder(latent_dim=LATENT):
    """``(encoder, decoder)``: 32x32 grey frames to ``latent_dim`` values, and back."""
    if latent_dim < 1:
        raise ValueError(f"latent_dim must be at least 1, not {latent_dim}")
    encoder = keras.Sequential(
        [
            keras.Input((32, 32, 1)),
            layers.Conv2D(32, 3, strides=2, padding="same", activation="relu"),  # 16x16
            layers.Conv2D(64, 3, strides=2, padding="same", activation="relu"),  # 8x8
            layers.Flatten(),
            layers.Dense(latent_dim),
        ],
        name="encoder",
    )
    decoder = keras.Sequential(
        [
            keras.Input((latent_dim,)),
            layers.Dense(8 * 8 * 64, activation="relu"),
            layers.Reshape((8, 8, 64)),
            layers.Conv2DTranspose(64, 3, strides=2, padding="same", activation="relu"),  # 16x16
            layers.Conv2DTranspose(32, 3, strides=2, padding="same", activation="relu"),  # 32x32
            layers.Conv2D(1, 3, padding="same", activation="sigmoid"),
        ],
        name="decoder",
    )
    return encoder, decoder


# %% build_tap
def build_tap(window=TAP_WINDOW, latent_dim=LATENT, units=128):
    """TAP's predictor: a GRU over the last ``window`` latents, the next latent as last + correction."""
    if window < 1 or latent_dim < 1 or units < 1:
        raise ValueError(f"window, latent_dim and units must be at least 1, not {window}, {latent_dim}, {units}")
    latents = keras.Input((window, latent_dim), name="latents")
    state = layers.GRU(units)(latents)
    correction = layers.Dense(latent_dim, name="correction")(state)
    last = layers.Flatten()(layers.Cropping1D((window - 1, 0))(latents))
    next_latent = layers.Add()([last, correction])
    return keras.Model(latents, next_latent, name="tap")


# %% build_htap
def build_htap(history=CONTEXT, latent_dim=LATENT, key_dim=64, span=2):
    """H-TAP's predictor: retrieval attention over the history at a fine and a coarse time scale."""
    if history < 3:
        raise ValueError(f"the history must be at least 3 latents, not {history}")
    if span < 2 or span >= history:
        raise ValueError(f"the span must lie in [2, {history - 1}], not {span}")
    if latent_dim < 1 or key_dim < 1:
        raise ValueError(f"latent_dim and key_dim must be at least 1, not {latent_dim} and {key_dim}")
    z = keras.Input((history, latent_dim), name="latents")
    n, s = history, span

    fine_projection = layers.Dense(key_dim, use_bias=False, name="fine_projection")
    fine_query = fine_projection(layers.Cropping1D((n - 1, 0))(z))
    fine_keys = fine_projection(layers.Cropping1D((0, 1))(z))
    fine_values = layers.Cropping1D((1, 0))(z)
    fine = layers.Attention(use_scale=True, name="fine_attention")([fine_query, fine_values, fine_keys])

    means = layers.AveragePooling1D(s, strides=1)(z)  # m_0 .. m_{n-s}
    coarse_projection = layers.Dense(key_dim, use_bias=False, name="coarse_projection")
    coarse_query = coarse_projection(layers.Cropping1D((n - s, 0))(means))
    coarse_keys = coarse_projection(layers.Cropping1D((0, 1))(means))
    coarse_values = layers.Cropping1D((s, 0))(z)
    coarse = layers.Attention(use_scale=True, name="coarse_attention")([coarse_query, coarse_values, coarse_keys])

    retrieved = layers.Concatenate(axis=1)([fine, coarse])  # (None, 2, latent_dim)
    side_by_side = layers.Reshape((2 * latent_dim,))(retrieved)
    gate = layers.Dense(2, activation="softmax", name="gate")(side_by_side)
    next_latent = layers.Dot(axes=1)([gate, retrieved])
    return keras.Model(z, next_latent, name="htap")


# %% build_rollout
def build_rollout(encoder, step, decoder, context=CONTEXT, horizon=HORIZON):
    """The autoregressive roll-out as one model: ``context`` frames in, ``horizon`` frames out."""
    if context < 1 or horizon < 1:
        raise ValueError(f"context and horizon must be at least 1, not {context} and {horizon}")
    window = step.input_shape[1]
    latent_dim = encoder.output_shape[-1]
    if window > context:
        raise ValueError(f"the step reads {window} latents, more than the {context} of the context")
    if step.input_shape[-1] != latent_dim or step.output_shape[-1] != latent_dim:
        raise ValueError(
            f"the step maps {step.input_shape} to {step.output_shape}, the encoder gives latents of {latent_dim}"
        )
    if decoder.input_shape[-1] != latent_dim:
        raise ValueError(f"the decoder reads {decoder.input_shape}, the encoder gives latents of {latent_dim}")
    frames = keras.Input((context,) + tuple(encoder.input_shape[1:]), name="frames")
    history = layers.TimeDistributed(encoder)(frames)
    length = context
    predictions = []
    for _ in range(horizon):
        recent = layers.Cropping1D((length - window, 0))(history) if length > window else history
        next_latent = layers.Reshape((1, latent_dim))(step(recent))
        predictions.append(next_latent)
        history = layers.Concatenate(axis=1)([history, next_latent])
        length += 1
    predicted = predictions[0] if horizon == 1 else layers.Concatenate(axis=1)(predictions)
    return keras.Model(frames, layers.TimeDistributed(decoder)(predicted), name="rollout")


# %% evaluate_rollouts
def evaluate_rollouts(predicted, target, positions):
    """Per-horizon ``{"mse", "ssim", "tracked"}`` of predicted frames against the true ones."""
    import tensorflow as tf

    predicted = np.asarray(predicted, dtype=np.float32)
    target = np.asarray(target, dtype=np.float32)
    positions = np.asarray(positions, dtype=np.float32)
    if predicted.ndim != 5:
        raise ValueError(f"frames should be (n, horizon, height, width, channels), not {predicted.shape}")
    if predicted.shape != target.shape:
        raise ValueError(f"predicted frames {predicted.shape} and true frames {target.shape} differ")
    if positions.shape != predicted.shape[:2] + (2,):
        raise ValueError(f"positions {positions.shape} do not match frames {predicted.shape}")
    mse = np.mean((predicted - target) ** 2, axis=(0, 2, 3, 4))
    ssim = tf.image.ssim(tf.constant(predicted), tf.constant(target), max_val=1.0).numpy().mean(axis=0)

    bright = predicted[..., 0] > 0.8  # (n, horizon, H, W)
    count = bright.sum(axis=(2, 3))
    rows = np.arange(predicted.shape[2]) + 0.5
    cols = np.arange(predicted.shape[3]) + 0.5
    safe = np.maximum(count, 1)
    centre_row = (bright * rows[:, None]).sum(axis=(2, 3)) / safe
    centre_col = (bright * cols[None, :]).sum(axis=(2, 3)) / safe
    distance = np.hypot(centre_row - positions[..., 0], centre_col - positions[..., 1])
    tracked = ((count > 0) & (distance <= 3.0)).mean(axis=0)
    return {
        "mse": mse.astype(np.float64),
        "ssim": ssim.astype(np.float64),
        "tracked": tracked.astype(np.float64),
    }
