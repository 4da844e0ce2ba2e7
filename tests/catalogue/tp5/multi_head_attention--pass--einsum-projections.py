"""Splits the heads with einsum on reshaped tensors and writes the attention inline."""


class MultiHeadAttention(keras.layers.Layer):
    def __init__(self, num_heads, key_dim, **kwargs):
        super().__init__(**kwargs)
        self.num_heads = num_heads
        self.key_dim = key_dim
        width = num_heads * key_dim
        self.query_dense, self.key_dense, self.value_dense = (keras.layers.Dense(width) for _ in range(3))
        self.output_dense = None

    def build(self, query_shape, value_shape, key_shape=None):
        self.query_dense.build(query_shape)
        self.key_dense.build(value_shape if key_shape is None else key_shape)
        self.value_dense.build(value_shape)
        self.output_dense = keras.layers.Dense(query_shape[-1])
        self.output_dense.build((None, None, self.num_heads * self.key_dim))

    def call(self, query, value, key=None, attention_mask=None, return_attention_scores=False):
        if key is None:
            key = value
        split = lambda x: keras.ops.reshape(
            x, (keras.ops.shape(x)[0], keras.ops.shape(x)[1], self.num_heads, self.key_dim)
        )  # noqa: E731
        q, k, v = split(self.query_dense(query)), split(self.key_dense(key)), split(self.value_dense(value))
        logits = keras.ops.einsum("bqhd,bkhd->bhqk", q, k) / self.key_dim**0.5
        if attention_mask is not None:
            allowed = keras.ops.cast(attention_mask, "bool")[:, None]
            logits = keras.ops.where(allowed, logits, -1e9)
        scores = keras.ops.softmax(logits, axis=-1)
        mixed = keras.ops.einsum("bhqk,bkhd->bqhd", scores, v)
        mixed = keras.ops.reshape(mixed, (keras.ops.shape(mixed)[0], keras.ops.shape(mixed)[1], -1))
        output = self.output_dense(mixed)
        if return_attention_scores:
            return output, scores
        return output
