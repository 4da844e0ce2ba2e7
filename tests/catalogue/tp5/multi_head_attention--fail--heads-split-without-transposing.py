"""Reshapes straight to (batch, heads, length, key_dim) without moving the axes: heads mix positions.

loses: mha_self_attention_equals_keras, mha_cross_attention_with_its_own_key, mha_applies_the_attention_mask_to_every_head, mha_returns_the_attention_scores
"""


class MultiHeadAttention(layers.Layer):
    """Multi-head attention with learned query, key, value and output projections."""

    def __init__(self, num_heads, key_dim, **kwargs):
        super().__init__(**kwargs)
        self.num_heads, self.key_dim = num_heads, key_dim
        self.query_dense = layers.Dense(num_heads * key_dim)
        self.key_dense = layers.Dense(num_heads * key_dim)
        self.value_dense = layers.Dense(num_heads * key_dim)
        self.output_dense = None

    def build(self, query_shape, value_shape, key_shape=None):
        self.output_dense = layers.Dense(query_shape[-1])
        self.query_dense.build(query_shape)
        self.key_dense.build(key_shape or value_shape)
        self.value_dense.build(value_shape)
        self.output_dense.build((*query_shape[:-1], self.num_heads * self.key_dim))

    def call(self, query, value, key=None, attention_mask=None, return_attention_scores=False):
        key = value if key is None else key

        def heads(x):
            return keras.ops.reshape(x, (keras.ops.shape(x)[0], self.num_heads, -1, self.key_dim))

        q, k, v = heads(self.query_dense(query)), heads(self.key_dense(key)), heads(self.value_dense(value))
        mask = None if attention_mask is None else keras.ops.expand_dims(attention_mask, 1)
        attended, weights = scaled_dot_product_attention(q, k, v, mask)
        attended = keras.ops.reshape(
            attended, (keras.ops.shape(attended)[0], -1, self.num_heads * self.key_dim)
        )
        output = self.output_dense(attended)
        return (output, weights) if return_attention_scores else output
