"""Returns the concatenated heads without the output projection (only when they match the query's size).

loses: mha_holds_the_four_projections, mha_self_attention_equals_keras
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
        self.query_dense.build(query_shape)
        self.key_dense.build(key_shape or value_shape)
        self.value_dense.build(value_shape)

    def call(self, query, value, key=None, attention_mask=None, return_attention_scores=False):
        key = value if key is None else key

        def heads(x):
            x = keras.ops.reshape(x, (keras.ops.shape(x)[0], -1, self.num_heads, self.key_dim))
            return keras.ops.transpose(x, (0, 2, 1, 3))

        q, k, v = heads(self.query_dense(query)), heads(self.key_dense(key)), heads(self.value_dense(value))
        mask = None if attention_mask is None else keras.ops.expand_dims(attention_mask, 1)
        attended, weights = scaled_dot_product_attention(q, k, v, mask)
        attended = keras.ops.transpose(attended, (0, 2, 1, 3))
        attended = keras.ops.reshape(
            attended, (keras.ops.shape(attended)[0], -1, self.num_heads * self.key_dim)
        )
        output = attended
        return (output, weights) if return_attention_scores else output
