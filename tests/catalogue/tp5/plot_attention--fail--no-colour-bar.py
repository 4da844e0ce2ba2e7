"""A heat map without a colour bar: the reader cannot tell 0.2 from 0.9.

loses: plot_has_a_colour_bar
"""


def plot_attention(weights, query_labels, key_labels):
    figure, ax = plt.subplots()
    ax.imshow(np.asarray(weights), cmap="magma")
    ax.set_xticks(range(len(key_labels)), key_labels)
    ax.set_yticks(range(len(query_labels)), query_labels)
    ax.set(xlabel="key", ylabel="query")
    return figure
