"""matshow (an imshow underneath) on a figure made directly, ticks on top."""


def plot_attention(weights, query_labels, key_labels):
    figure = plt.figure(figsize=(6, 4))
    ax = figure.add_subplot()
    image = ax.matshow(np.asarray(weights), vmin=0, vmax=1)
    ax.set_xticks(np.arange(len(key_labels)))
    ax.set_xticklabels(key_labels, rotation=45)
    ax.set_yticks(np.arange(len(query_labels)))
    ax.set_yticklabels(query_labels)
    ax.set_xlabel("keys")
    ax.set_ylabel("queries")
    figure.colorbar(image)
    return figure
