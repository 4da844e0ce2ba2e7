# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # TP5 — Attention from scratch
#
# A Transformer is built on one operation: **attention**, a weighted average of values whose
# weights say how well each key matches a query. In this TP you write it with `keras.ops`, with
# its masks, then multi-head attention as a Keras layer that computes exactly what
# `keras.layers.MultiHeadAttention` computes, and the sinusoidal positional encoding. Then you
# train a small attention model on a task whose right attention pattern is known (reversing a
# sequence), and check, on its attention map, that it learned it.
#
# Fill in every cell that says `YOUR CODE HERE` and run the tests below each exercise. Rules:
#
# * use `keras.ops` (NumPy arrays and tensors are both accepted by it);
# * a mask is **true (or 1) where a query may attend to a key**;
# * bad input is refused with a `ValueError` that says what is wrong.

# %%
import tpdl  # first: keeps TensorFlow's start-up messages quiet

import keras
import matplotlib.pyplot as plt
import numpy as np
from keras import layers

from tpdl import budget

BUDGET = budget.current()
SEED = 0
keras.utils.set_random_seed(SEED)
print(f"budget: {BUDGET.name}")

# %% [markdown]
# ## Exercise 1 — scaled dot-product attention (5 points)
#
# For queries $Q$ of shape `(..., Lq, d)`, keys $K$ `(..., Lk, d)` and values $V$ `(..., Lk, dv)`
# (the leading axes, batch and heads, are the same for the three):
#
# $$\text{weights} = \text{softmax}_{\text{keys}}\!\left(\frac{Q K^\top}{\sqrt{d}}\right), \qquad
#   \text{output} = \text{weights}\; V$$
#
# The softmax runs over the **keys** (the last axis): each query's weights sum to 1. With a `mask`
# (booleans or 0/1, broadcastable to `(..., Lq, Lk)`), a query gives **zero** weight to the keys it
# may not attend to: set their logits to a very negative number (`-1e9`) *before* the softmax, and
# make the weights of a query that may attend to **no** key all zero (its output is then zero, never
# NaN). Subtracting each row's maximum before exponentiating keeps the softmax finite for large
# logits (`keras.ops.softmax` does it for you).
#
# Return `(output, weights)`. Refuse (`ValueError`) queries and keys of different depths, keys and
# values of different lengths, and a mask that does not broadcast to `(..., Lq, Lk)`.


# %% nbgrader={"grade": false, "grade_id": "scaled_dot_product_attention", "locked": false, "schema_version": 3, "solution": true, "task": false}
def scaled_dot_product_attention(q, k, v, mask=None):
    """Attention of queries ``q`` over keys ``k`` and values ``v``: ``(output, weights)``."""
    ### BEGIN SOLUTION
    q, k, v = (keras.ops.convert_to_tensor(t, "float32") for t in (q, k, v))
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(f"queries of depth {q.shape[-1]} cannot match keys of depth {k.shape[-1]}")
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(f"{k.shape[-2]} keys but {v.shape[-2]} values")
    logits = keras.ops.matmul(q, keras.ops.swapaxes(k, -1, -2)) / np.sqrt(q.shape[-1])
    if mask is None:
        return keras.ops.matmul(keras.ops.softmax(logits, axis=-1), v), keras.ops.softmax(logits, axis=-1)
    mask = keras.ops.cast(keras.ops.convert_to_tensor(mask), "bool")
    try:
        broadcast = np.broadcast_shapes(tuple(mask.shape), tuple(logits.shape))
    except ValueError:
        broadcast = None
    if broadcast != tuple(logits.shape):
        raise ValueError(f"a mask of shape {tuple(mask.shape)} does not broadcast to {tuple(logits.shape)}")
    weights = keras.ops.softmax(keras.ops.where(mask, logits, -1e9), axis=-1)
    weights = keras.ops.where(mask, weights, 0.0)  # a query with no key allowed gets no weight at all
    return keras.ops.matmul(weights, v), weights
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "scaled_dot_product_attention_tests", "locked": true, "points": 5, "schema_version": 3, "solution": false, "task": false}
demo_rng = np.random.default_rng(SEED)
q, k, v = demo_rng.normal(size=(2, 3, 4)), demo_rng.normal(size=(2, 5, 4)), demo_rng.normal(size=(2, 5, 6))
output, weights = scaled_dot_product_attention(q, k, v)
assert tuple(output.shape) == (2, 3, 6) and tuple(weights.shape) == (2, 3, 5), "wrong output shapes"
assert np.allclose(np.asarray(weights).sum(axis=-1), 1.0, atol=1e-5), "each query's weights should sum to 1"
none_allowed = np.zeros((3, 5), dtype=bool)
output, weights = scaled_dot_product_attention(q, k, v, none_allowed)
assert not np.isnan(np.asarray(output)).any(), "a query that may attend to no key must not give NaN"
print("scaled_dot_product_attention: visible tests passed")

# %% [markdown]
# ## Exercise 2 — masks (3 points)
#
# * `causal_mask(length)`: a boolean `(length, length)` array, true where query $i$ may attend to key
#   $j$, that is where $j \le i$ (a decoder never looks ahead);
# * `padding_mask(lengths, max_length)`: for a batch of sequences of the given true `lengths`, padded
#   to `max_length`, a boolean `(batch, 1, max_length)` array, true for the real keys (the middle axis
#   broadcasts over the queries). Refuse lengths below 0 or above `max_length`.


# %% nbgrader={"grade": false, "grade_id": "masks", "locked": false, "schema_version": 3, "solution": true, "task": false}
def causal_mask(length):
    """``(length, length)`` booleans: query i may attend to keys 0..i."""
    ### BEGIN SOLUTION
    return np.tril(np.ones((length, length), dtype=bool))
    ### END SOLUTION


def padding_mask(lengths, max_length):
    """``(batch, 1, max_length)`` booleans: true for each sequence's real keys."""
    ### BEGIN SOLUTION
    lengths = np.asarray(lengths)
    if lengths.min(initial=0) < 0 or lengths.max(initial=0) > max_length:
        raise ValueError(f"lengths must lie in [0, {max_length}], not {lengths.tolist()}")
    return (np.arange(max_length)[None, :] < lengths[:, None])[:, None, :]
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "masks_tests", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
assert np.array_equal(causal_mask(3), [[1, 0, 0], [1, 1, 0], [1, 1, 1]]), "query i attends to keys 0..i"
assert np.array_equal(padding_mask([2, 3], 4), [[[1, 1, 0, 0]], [[1, 1, 1, 0]]]), "true for the real keys"
print("masks: visible tests passed")

# %% [markdown]
# ## Exercise 3 — multi-head attention as a Keras layer (5 points)
#
# `MultiHeadAttention(num_heads, key_dim)` projects the query, key and value inputs with three
# dense layers with biases (`query_dense`, `key_dense`, `value_dense`, each to `num_heads * key_dim`
# units), splits each projection into `num_heads` heads of depth `key_dim`, moves the heads before
# the sequence axis (`(batch, heads, length, key_dim)`), applies your scaled dot-product attention
# per head, puts the heads back together (`(batch, Lq, num_heads * key_dim)`) and projects the
# result with a fourth dense layer, `output_dense`, back to the query's feature size. Create the
# four `Dense` layers in that order in `__init__` (the output's size is known in `build`).
#
# `call(query, value, key=None, attention_mask=None, return_attention_scores=False)`: the key
# defaults to the value; `attention_mask` (`(batch, Lq, Lk)`) applies to every head; with
# `return_attention_scores`, return `(output, weights)` with weights of shape `(batch, heads, Lq, Lk)`.
#
# With the same weights this is exactly `keras.layers.MultiHeadAttention`. Keras keeps its kernels
# per head: the query kernel has shape `(features, num_heads, key_dim)` and the output kernel
# `(num_heads, key_dim, features)`; reshaped to `(features, num_heads * key_dim)` and
# `(num_heads * key_dim, features)` they are your `Dense` kernels (the cell below checks it).


# %% nbgrader={"grade": false, "grade_id": "multi_head_attention", "locked": false, "schema_version": 3, "solution": true, "task": false}
class MultiHeadAttention(layers.Layer):
    """Multi-head attention with learned query, key, value and output projections."""

    def __init__(self, num_heads, key_dim, **kwargs):
        super().__init__(**kwargs)
        ### BEGIN SOLUTION
        self.num_heads, self.key_dim = num_heads, key_dim
        self.query_dense = layers.Dense(num_heads * key_dim)
        self.key_dense = layers.Dense(num_heads * key_dim)
        self.value_dense = layers.Dense(num_heads * key_dim)
        self.output_dense = None  # its size is the query's feature size, known in build
        ### END SOLUTION

    def build(self, query_shape, value_shape, key_shape=None):
        ### BEGIN SOLUTION
        self.output_dense = layers.Dense(query_shape[-1])
        self.query_dense.build(query_shape)
        self.key_dense.build(key_shape or value_shape)
        self.value_dense.build(value_shape)
        self.output_dense.build((*query_shape[:-1], self.num_heads * self.key_dim))
        ### END SOLUTION

    def call(self, query, value, key=None, attention_mask=None, return_attention_scores=False):
        ### BEGIN SOLUTION
        key = value if key is None else key

        def heads(x):  # (batch, length, heads * key_dim) -> (batch, heads, length, key_dim)
            x = keras.ops.reshape(x, (keras.ops.shape(x)[0], -1, self.num_heads, self.key_dim))
            return keras.ops.transpose(x, (0, 2, 1, 3))

        q, k, v = heads(self.query_dense(query)), heads(self.key_dense(key)), heads(self.value_dense(value))
        mask = None if attention_mask is None else keras.ops.expand_dims(attention_mask, 1)
        attended, weights = scaled_dot_product_attention(q, k, v, mask)
        attended = keras.ops.transpose(attended, (0, 2, 1, 3))
        attended = keras.ops.reshape(
            attended, (keras.ops.shape(attended)[0], -1, self.num_heads * self.key_dim)
        )
        output = self.output_dense(attended)
        return (output, weights) if return_attention_scores else output
        ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "multi_head_attention_tests", "locked": true, "points": 5, "schema_version": 3, "solution": false, "task": false}
def copy_keras_weights(theirs, mine):
    """Give ``mine`` (this notebook's layer) the weights of ``theirs`` (Keras's), reshaped."""
    reshaped = []
    for index, weight in enumerate(theirs.get_weights()):  # query, key, value, output: kernel, bias each
        if index == 6:  # the output kernel (heads, key_dim, features)
            reshaped.append(weight.reshape(-1, weight.shape[-1]))
        elif weight.ndim == 3:  # a projection kernel (features, heads, key_dim)
            reshaped.append(weight.reshape(weight.shape[0], -1))
        else:  # a bias
            reshaped.append(weight.reshape(-1))
    mine.set_weights(reshaped)


x_query = demo_rng.normal(size=(2, 4, 8)).astype("float32")
x_value = demo_rng.normal(size=(2, 6, 8)).astype("float32")
theirs = layers.MultiHeadAttention(num_heads=2, key_dim=3)
mine = MultiHeadAttention(num_heads=2, key_dim=3)
their_output = theirs(x_query, x_value)
mine(x_query, x_value)  # builds the layer
copy_keras_weights(theirs, mine)
my_output, my_weights = mine(x_query, x_value, return_attention_scores=True)
assert np.allclose(np.asarray(my_output), np.asarray(their_output), atol=1e-5), (
    "with the same weights, your layer differs from keras.layers.MultiHeadAttention"
)
assert tuple(my_weights.shape) == (2, 2, 4, 6), "the attention weights should be (batch, heads, Lq, Lk)"
print("MultiHeadAttention: visible tests passed")

# %% [markdown]
# ## Exercise 4 — the sinusoidal positional encoding (2 points)
#
# Attention ignores order: a permutation of the keys permutes nothing in the output. Vaswani et al.
# (2017) add to each position $p$ a vector of `depth` values, for $i = 0, 1, \dots$:
#
# $$PE_{p,\,2i} = \sin\!\left(\frac{p}{10000^{2i/\text{depth}}}\right), \qquad
#   PE_{p,\,2i+1} = \cos\!\left(\frac{p}{10000^{2i/\text{depth}}}\right)$$
#
# `positional_encoding(length, depth)` returns them as a float32 array `(length, depth)` (`depth`
# even; refuse an odd one).


# %% nbgrader={"grade": false, "grade_id": "positional_encoding", "locked": false, "schema_version": 3, "solution": true, "task": false}
def positional_encoding(length, depth):
    """The sinusoidal positional encoding: ``(length, depth)`` float32."""
    ### BEGIN SOLUTION
    if depth % 2:
        raise ValueError(f"depth must be even, not {depth}")
    positions = np.arange(length)[:, None]
    rates = 1.0 / 10000 ** (np.arange(0, depth, 2) / depth)
    encoding = np.zeros((length, depth))
    encoding[:, 0::2] = np.sin(positions * rates)
    encoding[:, 1::2] = np.cos(positions * rates)
    return encoding.astype("float32")
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "positional_encoding_tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
encoding = positional_encoding(50, 16)
assert encoding.shape == (50, 16) and encoding.dtype == np.float32, "(length, depth) float32"
assert np.allclose(encoding[0, 0::2], 0.0) and np.allclose(encoding[0, 1::2], 1.0), (
    "at position 0: sin 0, cos 0"
)
print("positional_encoding: visible tests passed")

# %% [markdown]
# ## Exercise 5 — an attention map (3 points)
#
# `plot_attention(weights, query_labels, key_labels)` draws a `(Lq, Lk)` weight matrix as a heat map
# (`imshow` of the weights themselves: row $i$ is query $i$), with the keys' labels along the x axis,
# the queries' along the y axis, axis titles ("key", "query") and a colour bar; it returns the
# `matplotlib.figure.Figure`.


# %% nbgrader={"grade": false, "grade_id": "plot_attention", "locked": false, "schema_version": 3, "solution": true, "task": false}
def plot_attention(weights, query_labels, key_labels):
    """A heat map of attention weights, queries as rows; returns the Figure."""
    ### BEGIN SOLUTION
    weights = np.asarray(weights)
    if weights.shape != (len(query_labels), len(key_labels)):
        raise ValueError(
            f"weights of shape {weights.shape} for {len(query_labels)} queries and {len(key_labels)} keys"
        )
    figure, ax = plt.subplots(figsize=(0.45 * len(key_labels) + 2, 0.45 * len(query_labels) + 1))
    image = ax.imshow(weights, cmap="viridis", vmin=0.0, vmax=1.0)
    ax.set_xticks(range(len(key_labels)), [str(label) for label in key_labels])
    ax.set_yticks(range(len(query_labels)), [str(label) for label in query_labels])
    ax.set(xlabel="key", ylabel="query")
    figure.colorbar(image, ax=ax)
    return figure
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "plot_attention_tests", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
figure = plot_attention(np.eye(3)[::-1], ["a", "b", "c"], ["x", "y", "z"])
assert figure.axes and figure.axes[0].images, "draw the weights with imshow"
print("plot_attention: visible tests passed")

# %% [markdown]
# ## Reversing sequences with attention
#
# A sequence of 8 numbers in [0, 1] must come out reversed. The model below (given) embeds each
# number with a dense layer, adds **your positional encoding** (a frozen embedding of the
# positions, which the model receives as a second input), applies one head of Keras's multi-head
# attention (the same computation as yours, saved with the model in a form any Keras can load) and
# reads each position's number back. To reverse, query $i$ must read the value at key $7 - i$, and
# only it (the squared error punishes any mixture): the attention map should be the anti-diagonal.
# This cell is skipped when your notebook is graded; run it and hand in `reversal.keras`.

# %% tags=["skip-grading"]
LENGTH, DEPTH = 8, 32
REVERSAL_FILE = "reversal.keras"


def reversal_data(n, seed):
    values = np.random.default_rng(seed).uniform(size=(n, LENGTH, 1)).astype("float32")
    positions = np.broadcast_to(np.arange(LENGTH), (n, LENGTH))
    return [values, positions], values[:, ::-1]


def build_reversal_model():
    values = keras.Input((LENGTH, 1), name="values")
    positions = keras.Input((LENGTH,), dtype="int32", name="positions")
    encoding = layers.Embedding(LENGTH, DEPTH, trainable=False, name="positional_encoding")
    x = layers.Add()([layers.Dense(DEPTH, name="value_embedding")(values), encoding(positions)])
    attended, scores = layers.MultiHeadAttention(num_heads=1, key_dim=DEPTH, name="attention")(
        x, x, return_attention_scores=True
    )
    model = keras.Model([values, positions], [layers.Dense(1, name="value")(attended), scores])
    encoding.set_weights([positional_encoding(LENGTH, DEPTH)])
    return model


keras.utils.set_random_seed(SEED)
reversal = build_reversal_model()
reversal.compile(optimizer=keras.optimizers.Adam(3e-3), loss=["mse", None])
x_train, y_train = reversal_data(BUDGET.pick(full=6000, ci=256), seed=SEED)
reversal.fit(x_train, y_train, epochs=BUDGET.pick(full=20, ci=1), batch_size=64, verbose=0)
reversal.save(REVERSAL_FILE)

x_probe, y_probe = reversal_data(200, seed=SEED + 1)
predictions, scores = reversal.predict(x_probe, verbose=0)
mean_error = float(np.mean(np.abs(predictions - y_probe)))
mean_map = scores[:, 0].mean(axis=0)
anti_diagonal_mass = float(np.mean(mean_map[np.arange(LENGTH), LENGTH - 1 - np.arange(LENGTH)]))
print(
    f"reversal: mean absolute error {mean_error:.4f}, {anti_diagonal_mass:.1%} of the attention on the anti-diagonal"
)
labels = [f"{value:.2f}" for value in x_probe[0][0, :, 0]]
figure = plot_attention(scores[0, 0], labels, labels)
figure.savefig("attention_map.png", dpi=80)

# %% [markdown]
# ## The trained model's attention (3 points)
#
# The hidden tests load `reversal.keras` (safely: no custom code runs), feed it fresh sequences and
# check that it reverses them (a mean absolute error below 0.05) and that at least **80 %** of each
# query's attention falls on the anti-diagonal.

# %% nbgrader={"grade": true, "grade_id": "reversal_model_tests", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false} tags=["skip-grading"]
assert anti_diagonal_mass >= 0.8 or not BUDGET.is_full, (
    f"{anti_diagonal_mass:.1%} of the attention on the anti-diagonal"
)
assert mean_error <= 0.05 or not BUDGET.is_full, (
    f"the model reverses with a mean absolute error of {mean_error:.4f}"
)
