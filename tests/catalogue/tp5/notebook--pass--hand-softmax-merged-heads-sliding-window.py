"""Hand-written stable softmax with transpose, heads folded into the batch, masks by ~np.triu and np.greater.outer, PE by column parity, means by averaged shifts, sliding-window roll-out, SSIM by keras.ops.conv.

Written from the student release alone.
"""
# %% scaled_dot_product_attention
def scaled_dot_product_attention(q, k, v, mask=None):
    """Attention of queries ``q`` over keys ``k`` and values ``v``: ``(output, weights)``."""
    ops = keras.ops
    q = ops.convert_to_tensor(q)
    k = ops.convert_to_tensor(k)
    v = ops.convert_to_tensor(v)
    dtype = keras.backend.result_type(q.dtype, k.dtype, v.dtype)
    q, k, v = ops.cast(q, dtype), ops.cast(k, dtype), ops.cast(v, dtype)
    d_q, d_k = q.shape[-1], k.shape[-1]
    if None not in (d_q, d_k) and d_q != d_k:
        raise ValueError(f"queries and keys must have the same depth: {d_q} != {d_k}")
    l_k, l_v = k.shape[-2], v.shape[-2]
    if None not in (l_k, l_v) and l_k != l_v:
        raise ValueError(f"keys and values must have the same length: {l_k} != {l_v}")
    rank = len(k.shape)
    perm = list(range(rank - 2)) + [rank - 1, rank - 2]
    logits = ops.matmul(q, ops.transpose(k, perm)) / ops.cast(np.sqrt(d_q), dtype)
    if mask is not None:
        mask = ops.convert_to_tensor(mask)
        try:
            np.broadcast_shapes(
                tuple(1 if m is None else m for m in mask.shape),
                tuple(1 if s is None else s for s in logits.shape),
            )
        except ValueError:
            raise ValueError(f"the mask {tuple(mask.shape)} does not broadcast to {tuple(logits.shape)}") from None
        if len(mask.shape) > len(logits.shape):
            raise ValueError(f"the mask {tuple(mask.shape)} has more axes than {tuple(logits.shape)}")
        allowed = ops.broadcast_to(ops.not_equal(mask, 0), ops.shape(logits))
        logits = ops.where(allowed, logits, ops.full_like(logits, -1e9))
    shifted = logits - ops.max(logits, axis=-1, keepdims=True)
    exponentials = ops.exp(shifted)
    weights = exponentials / ops.sum(exponentials, axis=-1, keepdims=True)
    if mask is not None:
        weights = weights * ops.cast(ops.any(allowed, axis=-1, keepdims=True), dtype)
    return ops.matmul(weights, v), weights


# %% masks
def causal_mask(length):
    """``(length, length)`` booleans: query i may attend to keys 0..i."""
    if length < 0:
        raise ValueError(f"negative length {length}")
    return ~np.triu(np.ones((length, length), dtype=bool), k=1)


def padding_mask(lengths, max_length):
    """``(batch, 1, max_length)`` booleans: true for each sequence's real keys."""
    lengths = np.array(lengths, ndmin=1)
    bad = [int(n) for n in lengths if n < 0 or n > max_length]
    if bad:
        raise ValueError(f"lengths {bad} are not between 0 and {max_length}")
    return np.greater.outer(lengths, np.arange(max_length))[:, None, :]


# %% multi_head_attention
class MultiHeadAttention(layers.Layer):
    """Multi-head attention with learned query, key, value and output projections."""

    def __init__(self, num_heads, key_dim, **kwargs):
        super().__init__(**kwargs)
        self.num_heads, self.key_dim = num_heads, key_dim
        self.query_dense = layers.Dense(num_heads * key_dim, use_bias=True)
        self.key_dense = layers.Dense(num_heads * key_dim, use_bias=True)
        self.value_dense = layers.Dense(num_heads * key_dim, use_bias=True)

    def build(self, query_shape, value_shape, key_shape=None):
        self.output_dense = layers.Dense(query_shape[-1], use_bias=True)
        self.query_dense.build(query_shape)
        self.value_dense.build(value_shape)
        self.key_dense.build(value_shape if key_shape is None else key_shape)
        self.output_dense.build((None, None, self.num_heads * self.key_dim))

    def _fold_heads(self, x):
        """(batch, length, heads * key_dim) -> (batch * heads, length, key_dim)."""
        batch, length = keras.ops.shape(x)[0], keras.ops.shape(x)[1]
        x = keras.ops.reshape(x, (batch, length, self.num_heads, self.key_dim))
        x = keras.ops.transpose(x, (0, 2, 1, 3))
        return keras.ops.reshape(x, (batch * self.num_heads, length, self.key_dim))

    def call(self, query, value, key=None, attention_mask=None, return_attention_scores=False):
        if key is None:
            key = value
        batch = keras.ops.shape(query)[0]
        q_length, k_length = keras.ops.shape(query)[1], keras.ops.shape(key)[1]
        q = self._fold_heads(self.query_dense(query))
        k = self._fold_heads(self.key_dense(key))
        v = self._fold_heads(self.value_dense(value))
        mask = None
        if attention_mask is not None:
            mask = keras.ops.repeat(keras.ops.convert_to_tensor(attention_mask), self.num_heads, axis=0)
        attended, weights = scaled_dot_product_attention(q, k, v, mask)
        attended = keras.ops.reshape(attended, (batch, self.num_heads, q_length, self.key_dim))
        attended = keras.ops.transpose(attended, (0, 2, 1, 3))
        attended = keras.ops.reshape(attended, (batch, q_length, self.num_heads * self.key_dim))
        output = self.output_dense(attended)
        if not return_attention_scores:
            return output
        return output, keras.ops.reshape(weights, (batch, self.num_heads, q_length, k_length))


# %% positional_encoding
def positional_encoding(length, depth):
    """The sinusoidal positional encoding: ``(length, depth)`` float32."""
    if depth % 2 == 1:
        raise ValueError(f"depth {depth} is odd: sines and cosines come in pairs")
    if length < 0 or depth < 0:
        raise ValueError("length and depth cannot be negative")
    column = np.arange(depth)
    pair = column // 2  # i, for columns 2i and 2i + 1
    angle = np.arange(length)[:, None] / np.power(10000.0, 2.0 * pair / depth)[None, :]
    encoding = np.where(column % 2 == 0, np.sin(angle), np.cos(angle))
    return np.asarray(encoding, dtype=np.float32)


# %% plot_attention
def plot_attention(weights, query_labels, key_labels):
    """A heat map of attention weights, queries as rows; returns the Figure."""
    matrix = np.asarray(keras.ops.convert_to_numpy(weights), dtype=np.float32)
    if matrix.ndim != 2:
        raise ValueError(f"plot_attention draws one (Lq, Lk) map, not an array of shape {matrix.shape}")
    n_queries, n_keys = matrix.shape
    if len(query_labels) != n_queries:
        raise ValueError(f"{len(query_labels)} query labels for {n_queries} queries")
    if len(key_labels) != n_keys:
        raise ValueError(f"{len(key_labels)} key labels for {n_keys} keys")
    figure, axis = plt.subplots(layout="constrained")
    heat = axis.imshow(matrix, aspect="equal", origin="upper")
    axis.set_xticks(list(range(n_keys)), [str(label) for label in key_labels])
    axis.set_yticks(list(range(n_queries)), [str(label) for label in query_labels])
    axis.set_xlabel("key")
    axis.set_ylabel("query")
    figure.colorbar(heat)
    return figure


# %% build_frame_autoencoder
def build_frame_autoencoder(latent_dim=LATENT):
    """``(encoder, decoder)``: 32x32 grey frames to ``latent_dim`` values, and back."""
    if latent_dim < 1:
        raise ValueError(f"latent_dim={latent_dim}: a latent needs at least one value")
    encoder = keras.Sequential(name="encoder")
    encoder.add(keras.Input(shape=(32, 32, 1)))
    encoder.add(layers.Conv2D(16, 3, padding="same", activation="relu"))
    encoder.add(layers.Conv2D(32, 4, strides=2, padding="same", activation="relu"))  # 16x16
    encoder.add(layers.Conv2D(48, 4, strides=2, padding="same", activation="relu"))  # 8x8
    encoder.add(layers.Flatten())
    encoder.add(layers.Dense(latent_dim, activation=None))

    decoder = keras.Sequential(name="decoder")
    decoder.add(keras.Input(shape=(latent_dim,)))
    decoder.add(layers.Dense(8 * 8 * 48, activation="relu"))
    decoder.add(layers.Reshape((8, 8, 48)))
    decoder.add(layers.Conv2DTranspose(32, 4, strides=2, padding="same", activation="relu"))  # 16x16
    decoder.add(layers.Conv2DTranspose(16, 4, strides=2, padding="same", activation="relu"))  # 32x32
    decoder.add(layers.Conv2D(1, 3, padding="same"))
    decoder.add(layers.Activation("sigmoid"))
    return encoder, decoder


# %% build_tap
def build_tap(window=TAP_WINDOW, latent_dim=LATENT, units=128):
    """TAP's predictor: a GRU over the last ``window`` latents, the next latent as last + correction."""
    if min(window, latent_dim, units) < 1:
        raise ValueError(f"window={window}, latent_dim={latent_dim}, units={units}: each must be at least 1")
    window_of_latents = keras.Input(shape=(window, latent_dim))
    summary = layers.GRU(units, return_sequences=False)(window_of_latents)
    change = layers.Dense(latent_dim)(summary)
    newest = layers.Cropping1D(cropping=(window - 1, 0))(window_of_latents)  # (None, 1, latent_dim)
    newest = layers.Flatten()(newest)
    return keras.Model(window_of_latents, layers.Add()([change, newest]))


# %% build_htap
def build_htap(history=CONTEXT, latent_dim=LATENT, key_dim=64, span=2):
    """H-TAP's predictor: retrieval attention over the history at a fine and a coarse time scale."""
    if history < 3:
        raise ValueError(f"history={history}: at least 3 latents are needed")
    if span < 2:
        raise ValueError(f"span={span}: a coarse stretch holds at least 2 latents")
    if span >= history:
        raise ValueError(f"span={span} must be below the history ({history})")
    n, s = history, span
    z = keras.Input(shape=(n, latent_dim))

    # Fine scale: last latent against z_0 .. z_{n-2}, reading each one's successor.
    p_fine = layers.Dense(key_dim, use_bias=False)
    fine = layers.Attention(use_scale=True)(
        [
            p_fine(layers.Cropping1D((n - 1, 0))(z)),
            layers.Cropping1D((1, 0))(z),
            p_fine(layers.Cropping1D((0, 1))(z)),
        ]
    )

    # Coarse scale: m_k, the mean of z_k .. z_{k+s-1}, as the average of s shifted copies.
    shifted = [layers.Cropping1D((offset, s - 1 - offset))(z) for offset in range(s)]
    m = layers.Average()(shifted)  # (None, n - s + 1, latent_dim): m_0 .. m_{n-s}
    p_coarse = layers.Dense(key_dim, use_bias=False)
    coarse = layers.Attention(use_scale=True)(
        [
            p_coarse(layers.Cropping1D((n - s, 0))(m)),
            layers.Cropping1D((s, 0))(z),
            p_coarse(layers.Cropping1D((0, 1))(m)),
        ]
    )

    both = layers.Concatenate(axis=1)([fine, coarse])  # (None, 2, latent_dim)
    gate = layers.Dense(2, activation="softmax")(layers.Concatenate(axis=-1)([fine, coarse]))  # (None, 1, 2)
    gate = layers.Reshape((2,))(gate)
    return keras.Model(z, layers.Dot(axes=1)([gate, both]))


# %% build_rollout
def build_rollout(encoder, step, decoder, context=CONTEXT, horizon=HORIZON):
    """The autoregressive roll-out as one model: ``context`` frames in, ``horizon`` frames out."""
    window = step.input_shape[1]
    latent_dim = encoder.output_shape[-1]
    if window > context:
        raise ValueError(f"a step over {window} latents cannot run on a context of {context} frames")
    if step.input_shape[2] != latent_dim:
        raise ValueError(f"the step reads latents of {step.input_shape[2]} values, the encoder makes {latent_dim}")
    if step.output_shape[-1] != latent_dim:
        raise ValueError(f"the step predicts {step.output_shape[-1]} values, the encoder makes {latent_dim}")
    if horizon < 1:
        raise ValueError(f"horizon={horizon}: predict at least one frame")
    frames = keras.Input(shape=(context,) + tuple(encoder.input_shape[1:]))
    latents = layers.TimeDistributed(encoder)(frames)
    recent = layers.Cropping1D((context - window, 0))(latents) if context > window else latents
    outputs = []
    for _ in range(horizon):
        following = layers.Reshape((1, latent_dim))(step(recent))
        outputs.append(following)
        if window == 1:
            recent = following
        else:  # slide the window: drop its oldest latent, append the new one
            recent = layers.Concatenate(axis=1)([layers.Cropping1D((1, 0))(recent), following])
    future = outputs[0] if len(outputs) == 1 else layers.Concatenate(axis=1)(outputs)
    return keras.Model(frames, layers.TimeDistributed(decoder)(future))


# %% evaluate_rollouts
def evaluate_rollouts(predicted, target, positions):
    """Per-horizon ``{"mse", "ssim", "tracked"}`` of predicted frames against the true ones."""
    predicted = np.asarray(predicted, dtype=np.float32)
    target = np.asarray(target, dtype=np.float32)
    positions = np.asarray(positions, dtype=np.float32)
    if predicted.shape != target.shape:
        raise ValueError(f"the frames differ in shape: {predicted.shape} and {target.shape}")
    if predicted.ndim != 5:
        raise ValueError(f"expected frames (n, horizon, height, width, channels), got {predicted.shape}")
    n, horizon, height, width, channels = predicted.shape
    if positions.shape != (n, horizon, 2):
        raise ValueError(f"positions {positions.shape} do not match {n} videos of {horizon} frames")

    squared = np.square(predicted - target)
    mse = squared.reshape(n, horizon, -1).mean(axis=-1).mean(axis=0)

    # SSIM: local statistics under an 11x11 Gaussian window (sigma 1.5), valid part only.
    offsets = np.arange(11, dtype=np.float64) - 5.0
    g = np.exp(-0.5 * (offsets / 1.5) ** 2)
    kernel = np.outer(g, g)
    kernel = (kernel / kernel.sum()).astype(np.float32)[:, :, None, None]

    def local_mean(images):  # (n, horizon, H, W, C) -> (n * horizon * C, H - 10, W - 10, 1)
        flat = np.moveaxis(images, -1, 2).reshape(-1, height, width, 1)
        return keras.ops.convert_to_numpy(keras.ops.conv(flat, kernel, strides=1, padding="valid"))

    mu_p, mu_t = local_mean(predicted), local_mean(target)
    sigma_p = local_mean(predicted * predicted) - mu_p**2
    sigma_t = local_mean(target * target) - mu_t**2
    sigma_pt = local_mean(predicted * target) - mu_p * mu_t
    c1, c2 = (0.01 * 1.0) ** 2, (0.03 * 1.0) ** 2
    ssim_map = ((2 * mu_p * mu_t + c1) * (2 * sigma_pt + c2)) / (
        (mu_p**2 + mu_t**2 + c1) * (sigma_p + sigma_t + c2)
    )
    ssim = ssim_map.reshape(n, horizon, -1).mean(axis=-1).mean(axis=0)

    # Coherence: the centre of the pixels brighter than 0.8 within 3 pixels of the disc's.
    bright = predicted[..., 0] > 0.8
    row_grid, col_grid = np.meshgrid(np.arange(height) + 0.5, np.arange(width) + 0.5, indexing="ij")
    counts = bright.sum(axis=(2, 3))
    with np.errstate(invalid="ignore", divide="ignore"):
        found_row = np.where(bright, row_grid, 0.0).sum(axis=(2, 3)) / counts
        found_col = np.where(bright, col_grid, 0.0).sum(axis=(2, 3)) / counts
    error = np.sqrt((found_row - positions[..., 0]) ** 2 + (found_col - positions[..., 1]) ** 2)
    hit = np.where(counts > 0, error <= 3.0, False)
    tracked = hit.astype(np.float64).mean(axis=0)
    return {"mse": np.asarray(mse, np.float64), "ssim": np.asarray(ssim, np.float64), "tracked": tracked}
