"""einsum attention with an additive mask, masks by comparing aranges, all four Dense made in __init__, PE by stacking, pooling/up-sampling autoencoder, roll-out from a list of predictions, NumPy SSIM.

Written from the student release alone.
"""
# %% scaled_dot_product_attention
def scaled_dot_product_attention(q, k, v, mask=None):
    """Attention of queries ``q`` over keys ``k`` and values ``v``: ``(output, weights)``."""
    q = keras.ops.convert_to_tensor(q)
    dtype = q.dtype
    k = keras.ops.cast(keras.ops.convert_to_tensor(k), dtype)
    v = keras.ops.cast(keras.ops.convert_to_tensor(v), dtype)
    if q.shape[-1] is not None and k.shape[-1] is not None and q.shape[-1] != k.shape[-1]:
        raise ValueError(f"the queries have depth {q.shape[-1]} but the keys {k.shape[-1]}")
    if k.shape[-2] is not None and v.shape[-2] is not None and k.shape[-2] != v.shape[-2]:
        raise ValueError(f"the keys have length {k.shape[-2]} but the values {v.shape[-2]}")
    scale = 1.0 / np.sqrt(q.shape[-1])
    logits = keras.ops.einsum("...qd,...kd->...qk", q, k) * keras.ops.cast(scale, dtype)
    if mask is not None:
        mask = keras.ops.cast(keras.ops.convert_to_tensor(mask), dtype)
        scores_shape = list(logits.shape)
        mask_shape = list(mask.shape)
        if len(mask_shape) > len(scores_shape):
            raise ValueError(f"the mask {tuple(mask_shape)} has more axes than the scores {tuple(scores_shape)}")
        padded = [1] * (len(scores_shape) - len(mask_shape)) + mask_shape
        for have, want in zip(padded, scores_shape):
            if have not in (1, None) and want is not None and have != want:
                raise ValueError(
                    f"the mask {tuple(mask_shape)} does not broadcast to the scores {tuple(scores_shape)}"
                )
        logits = logits + (1.0 - mask) * keras.ops.cast(-1e9, dtype)
    weights = keras.ops.softmax(logits, axis=-1)
    if mask is not None:
        weights = weights * mask  # exactly zero on the forbidden keys, and on rows with no key allowed
    output = keras.ops.einsum("...qk,...kv->...qv", weights, v)
    return output, weights


# %% masks
def causal_mask(length):
    """``(length, length)`` booleans: query i may attend to keys 0..i."""
    if length < 0:
        raise ValueError(f"a length cannot be negative: {length}")
    queries = np.arange(length)[:, None]
    keys = np.arange(length)[None, :]
    return keys <= queries


def padding_mask(lengths, max_length):
    """``(batch, 1, max_length)`` booleans: true for each sequence's real keys."""
    lengths = np.asarray(lengths).reshape(-1)
    too_short, too_long = lengths < 0, lengths > max_length
    if too_short.any() or too_long.any():
        raise ValueError(f"lengths must lie between 0 and max_length={max_length}; got {lengths.tolist()}")
    return np.arange(max_length)[None, None, :] < lengths[:, None, None]


# %% multi_head_attention
class MultiHeadAttention(layers.Layer):
    """Multi-head attention with learned query, key, value and output projections."""

    def __init__(self, num_heads, key_dim, **kwargs):
        super().__init__(**kwargs)
        self.num_heads = int(num_heads)
        self.key_dim = int(key_dim)
        width = self.num_heads * self.key_dim
        self.query_dense = layers.Dense(width)
        self.key_dense = layers.Dense(width)
        self.value_dense = layers.Dense(width)
        self.output_dense = layers.Dense(1)  # its true size, the query's, is set in build

    def build(self, query_shape, value_shape, key_shape=None):
        key_shape = value_shape if key_shape is None else key_shape
        self.query_dense.build(query_shape)
        self.key_dense.build(key_shape)
        self.value_dense.build(value_shape)
        self.output_dense.units = query_shape[-1]
        self.output_dense.build(list(query_shape[:-1]) + [self.num_heads * self.key_dim])

    def call(self, query, value, key=None, attention_mask=None, return_attention_scores=False):
        key = value if key is None else key

        def heads(x):  # (batch, length, heads * key_dim) -> (batch, heads, length, key_dim)
            x = keras.ops.reshape(x, (keras.ops.shape(x)[0], -1, self.num_heads, self.key_dim))
            return keras.ops.swapaxes(x, 1, 2)

        q = heads(self.query_dense(query))
        k = heads(self.key_dense(key))
        v = heads(self.value_dense(value))
        mask = None if attention_mask is None else keras.ops.convert_to_tensor(attention_mask)[:, None, :, :]
        attended, weights = scaled_dot_product_attention(q, k, v, mask=mask)
        attended = keras.ops.swapaxes(attended, 1, 2)
        attended = keras.ops.reshape(attended, (keras.ops.shape(attended)[0], -1, self.num_heads * self.key_dim))
        output = self.output_dense(attended)
        return (output, weights) if return_attention_scores else output


# %% positional_encoding
def positional_encoding(length, depth):
    """The sinusoidal positional encoding: ``(length, depth)`` float32."""
    if depth % 2:
        raise ValueError(f"the depth must be even, not {depth}")
    if length < 0 or depth < 0:
        raise ValueError(f"length and depth must be non-negative, not {length} and {depth}")
    i = np.arange(depth // 2)
    angles = np.arange(length)[:, None] / 10000.0 ** (2 * i / depth)[None, :]
    return np.stack([np.sin(angles), np.cos(angles)], axis=-1).reshape(length, depth).astype(np.float32)


# %% plot_attention
def plot_attention(weights, query_labels, key_labels):
    """A heat map of attention weights, queries as rows; returns the Figure."""
    weights = np.asarray(weights, dtype=float)
    if weights.ndim != 2:
        raise ValueError(f"expected a (queries, keys) matrix, got shape {weights.shape}")
    if weights.shape != (len(query_labels), len(key_labels)):
        raise ValueError(f"{weights.shape} weights for {len(query_labels)} queries and {len(key_labels)} keys")
    figure = plt.figure(figsize=(4.5, 4))
    axis = figure.add_subplot(1, 1, 1)
    image = axis.imshow(weights, cmap="magma", vmin=0.0, interpolation="nearest")
    axis.set_xticks(range(len(key_labels)), labels=list(key_labels))
    axis.set_yticks(range(len(query_labels)), labels=list(query_labels))
    axis.set(xlabel="key", ylabel="query", title="attention")
    figure.colorbar(image, ax=axis, label="weight")
    return figure


# %% build_frame_autoencoder
def build_frame_autoencoder(latent_dim=LATENT):
    """``(encoder, decoder)``: 32x32 grey frames to ``latent_dim`` values, and back."""
    if not latent_dim >= 1:
        raise ValueError(f"the latent size must be at least 1, not {latent_dim}")
    frame = keras.Input((32, 32, 1), name="frame")
    x = layers.Conv2D(16, 3, padding="same", activation="relu")(frame)
    x = layers.MaxPooling2D(2)(x)  # 16x16
    x = layers.Conv2D(32, 3, padding="same", activation="relu")(x)
    x = layers.MaxPooling2D(2)(x)  # 8x8
    x = layers.Conv2D(32, 3, padding="same", activation="relu")(x)
    latent = layers.Dense(latent_dim, name="latent")(layers.Flatten()(x))
    encoder = keras.Model(frame, latent, name="frame_encoder")

    code = keras.Input((latent_dim,), name="latent")
    y = layers.Dense(8 * 8 * 32, activation="relu")(code)
    y = layers.Reshape((8, 8, 32))(y)
    y = layers.UpSampling2D(2)(y)  # 16x16
    y = layers.Conv2D(32, 3, padding="same", activation="relu")(y)
    y = layers.UpSampling2D(2)(y)  # 32x32
    y = layers.Conv2D(16, 3, padding="same", activation="relu")(y)
    pixels = layers.Conv2D(1, 3, padding="same", activation="sigmoid", name="pixels")(y)
    decoder = keras.Model(code, pixels, name="frame_decoder")
    return encoder, decoder


# %% build_tap
def build_tap(window=TAP_WINDOW, latent_dim=LATENT, units=128):
    """TAP's predictor: a GRU over the last ``window`` latents, the next latent as last + correction."""
    for name, value in (("window", window), ("latent_dim", latent_dim), ("units", units)):
        if value < 1:
            raise ValueError(f"{name} must be at least 1, not {value}")
    inputs = keras.Input((window, latent_dim))
    last_latent = layers.Flatten(name="last_latent")(layers.Cropping1D(cropping=(window - 1, 0))(inputs))
    correction = layers.Dense(latent_dim, kernel_initializer="zeros", name="correction")(
        layers.GRU(units, name="gru")(inputs)
    )
    return keras.Model(inputs, layers.Add(name="next_latent")([last_latent, correction]), name="tap_step")


# %% build_htap
def build_htap(history=CONTEXT, latent_dim=LATENT, key_dim=64, span=2):
    """H-TAP's predictor: retrieval attention over the history at a fine and a coarse time scale."""
    if history < 3:
        raise ValueError(f"H-TAP needs a history of at least 3 latents, not {history}")
    if not 2 <= span < history:
        raise ValueError(f"span must be at least 2 and below the history ({history}), not {span}")
    inputs = keras.Input((history, latent_dim))

    def retrieve(sequence, values, name):
        """Query: the sequence's last item; keys: all but the last; both through one projection."""
        length = sequence.shape[1]
        projection = layers.Dense(key_dim, use_bias=False, name=f"{name}_projection")
        query = projection(layers.Cropping1D((length - 1, 0))(sequence))
        keys = projection(layers.Cropping1D((0, 1))(sequence))
        found = layers.Attention(use_scale=True, name=f"{name}_attention")([query, values, keys])
        return layers.Flatten()(found)  # (None, latent_dim)

    fine = retrieve(inputs, layers.Cropping1D((1, 0))(inputs), "fine")
    means = layers.AveragePooling1D(pool_size=span, strides=1)(inputs)
    coarse = retrieve(means, layers.Cropping1D((span, 0))(inputs), "coarse")

    side_by_side = layers.Concatenate(axis=1)([fine, coarse])  # (None, 2 * latent_dim)
    gate = layers.Dense(2, activation="softmax", name="gate")(side_by_side)
    stacked = layers.Reshape((2, latent_dim))(side_by_side)
    return keras.Model(inputs, layers.Dot(axes=1)([gate, stacked]), name="htap_step")


# %% build_rollout
def build_rollout(encoder, step, decoder, context=CONTEXT, horizon=HORIZON):
    """The autoregressive roll-out as one model: ``context`` frames in, ``horizon`` frames out."""
    window = step.input_shape[1]
    latent_dim = encoder.output_shape[-1]
    if horizon < 1:
        raise ValueError(f"the horizon must be at least 1, not {horizon}")
    if window > context:
        raise ValueError(f"the step's window ({window}) is longer than the context ({context})")
    if step.input_shape[-1] != latent_dim or step.output_shape[-1] != latent_dim:
        raise ValueError(f"the step works on latents of {step.input_shape[-1]}, the encoder's are {latent_dim}")
    frames = keras.Input((context, *encoder.input_shape[1:]))
    seen = layers.TimeDistributed(encoder)(frames)  # (None, context, latent_dim)
    predicted = []  # each (None, 1, latent_dim)
    for t in range(horizon):
        from_context = max(window - t, 0)
        pieces = []
        if from_context:
            pieces.append(layers.Cropping1D((context - from_context, 0))(seen))
        pieces += predicted[len(predicted) - (window - from_context) :] if window > from_context else []
        recent = pieces[0] if len(pieces) == 1 else layers.Concatenate(axis=1)(pieces)
        predicted.append(layers.Reshape((1, latent_dim))(step(recent)))
    latents = predicted[0] if horizon == 1 else layers.Concatenate(axis=1)(predicted)
    return keras.Model(frames, layers.TimeDistributed(decoder)(latents))


# %% evaluate_rollouts
def _gaussian_blur_valid(images, size=11, sigma=1.5):
    """Separable 11x11 Gaussian of (..., H, W) images, valid part only."""
    x = np.arange(size) - (size - 1) / 2
    taps = np.exp(-(x**2) / (2 * sigma**2))
    taps /= taps.sum()
    height, width = images.shape[-2], images.shape[-1]
    rows = sum(taps[i] * images[..., i : height - size + 1 + i, :] for i in range(size))
    return sum(taps[j] * rows[..., :, j : width - size + 1 + j] for j in range(size))


def evaluate_rollouts(predicted, target, positions):
    """Per-horizon ``{"mse", "ssim", "tracked"}`` of predicted frames against the true ones."""
    predicted = np.asarray(predicted, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    positions = np.asarray(positions, dtype=np.float64)
    if predicted.shape != target.shape or predicted.ndim != 5:
        raise ValueError(f"predicted {predicted.shape} and target {target.shape} must be the same (n, horizon, H, W, C)")
    if positions.shape != (predicted.shape[0], predicted.shape[1], 2):
        raise ValueError(f"positions {positions.shape} should be {(predicted.shape[0], predicted.shape[1], 2)}")

    mse = ((predicted - target) ** 2).mean(axis=(2, 3, 4)).mean(axis=0)

    x = np.moveaxis(predicted, -1, 2)  # (n, horizon, C, H, W)
    y = np.moveaxis(target, -1, 2)
    c1, c2 = 0.01**2, 0.03**2
    mu_x, mu_y = _gaussian_blur_valid(x), _gaussian_blur_valid(y)
    var_x = _gaussian_blur_valid(x * x) - mu_x**2
    var_y = _gaussian_blur_valid(y * y) - mu_y**2
    cov = _gaussian_blur_valid(x * y) - mu_x * mu_y
    luminance = (2 * mu_x * mu_y + c1) / (mu_x**2 + mu_y**2 + c1)
    structure = (2 * cov + c2) / (var_x + var_y + c2)
    ssim = (luminance * structure).mean(axis=(2, 3, 4)).mean(axis=0)

    tracked = np.zeros(predicted.shape[1])
    for h in range(predicted.shape[1]):
        hits = 0
        for video in range(predicted.shape[0]):
            rows, cols = np.nonzero(predicted[video, h, :, :, 0] > 0.8)
            if rows.size == 0:
                continue
            centre = np.array([rows.mean() + 0.5, cols.mean() + 0.5])
            if np.linalg.norm(centre - positions[video, h]) <= 3.0:
                hits += 1
        tracked[h] = hits / predicted.shape[0]
    return {"mse": mse, "ssim": ssim, "tracked": tracked}
