"""Draws the transposed matrix (keys as rows), labels swapped to match.

loses: plot_shows_the_weights_with_queries_as_rows, plot_labels_the_keys_and_the_queries
"""


def plot_attention(weights, query_labels, key_labels):
    weights = np.asarray(weights).T
    figure, ax = plt.subplots()
    image = ax.imshow(weights)
    ax.set_xticks(range(len(query_labels)), query_labels)
    ax.set_yticks(range(len(key_labels)), key_labels)
    ax.set(xlabel="query", ylabel="key")
    figure.colorbar(image, ax=ax)
    return figure
