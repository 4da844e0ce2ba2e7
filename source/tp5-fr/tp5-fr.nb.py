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
# # TP5 — L'attention à partir de zéro, et H-TAP
#
# Un Transformer repose sur une seule opération : l'**attention**, une moyenne pondérée de valeurs dont
# les poids mesurent à quel point chaque clé correspond à une requête. Dans ce TP, vous l'écrivez avec
# `keras.ops`, avec ses masques, puis vous écrivez l'attention multi-têtes sous la forme d'une couche Keras
# qui calcule exactement ce que calcule `keras.layers.MultiHeadAttention`, et enfin l'encodage positionnel
# sinusoïdal. Vous entraînez ensuite un petit modèle à attention sur une tâche dont on connaît le bon motif
# d'attention (inverser une séquence), et vous vérifiez sur sa carte d'attention qu'il l'a appris. La
# partie B est un projet de recherche : prédire une vidéo loin dans le futur, là où l'attention sur le
# passé bat un modèle de référence récurrent.
#
# Complétez chaque cellule marquée `YOUR CODE HERE` et exécutez les tests placés sous chaque exercice.
# Règles :
#
# * utilisez `keras.ops` (qui accepte aussi bien les tableaux NumPy que les tenseurs) ;
# * un masque est **vrai (ou vaut 1) là où une requête peut porter son attention sur une clé** ;
# * une entrée invalide est refusée par une `ValueError` qui dit ce qui ne va pas.

# %%
import tpdl  # en premier : fait taire les messages de démarrage de TensorFlow

import keras
import matplotlib.pyplot as plt
import numpy as np
from keras import layers

from tpdl.course import budget, costs

BUDGET = budget.current()
SEED = 0
keras.utils.set_random_seed(SEED)
print(f"budget : {BUDGET.name}")

# %% [markdown]
# ## Exercice 1 — attention par produit scalaire normalisé (5 points)
#
# Pour des requêtes $Q$ de forme `(..., Lq, d)`, des clés $K$ `(..., Lk, d)` et des valeurs $V$
# `(..., Lk, dv)` (les premiers axes, lot et têtes, sont les mêmes pour les trois) :
#
# $$\text{weights} = \text{softmax}_{\text{keys}}\!\left(\frac{Q K^\top}{\sqrt{d}}\right), \qquad
#   \text{output} = \text{weights}\; V$$
#
# Le softmax porte sur les **clés** (le dernier axe) : les poids de chaque requête ont pour somme 1. Avec
# un `mask` (booléens ou 0/1, diffusable vers `(..., Lq, Lk)`), une requête donne un poids **nul** aux clés
# sur lesquelles elle n'a pas le droit de porter son attention : mettez leurs logits à un nombre très
# négatif (`-1e9`) *avant* le softmax, et mettez à zéro tous les poids d'une requête qui ne peut porter
# son attention sur **aucune** clé (sa sortie est alors nulle, jamais NaN). Soustraire le maximum de
# chaque ligne avant de passer à l'exponentielle garde le softmax fini pour de grands logits
# (`keras.ops.softmax` le fait pour vous).
#
# Renvoyez `(output, weights)`. Refusez (`ValueError`) des requêtes et des clés de profondeurs
# différentes, des clés et des valeurs de longueurs différentes, et un masque qui ne se diffuse pas vers
# `(..., Lq, Lk)`.


# %% nbgrader={"grade": false, "grade_id": "scaled_dot_product_attention", "locked": false, "schema_version": 3, "solution": true, "task": false}
def scaled_dot_product_attention(q, k, v, mask=None):
    """Attention des requêtes ``q`` sur les clés ``k`` et les valeurs ``v`` : ``(output, weights)``."""
    ### BEGIN SOLUTION
    q, k, v = (keras.ops.convert_to_tensor(t, "float32") for t in (q, k, v))
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(
            f"des requêtes de profondeur {q.shape[-1]} ne peuvent pas se comparer à des clés de profondeur {k.shape[-1]}"
        )
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(f"{k.shape[-2]} clés mais {v.shape[-2]} valeurs")
    logits = keras.ops.matmul(q, keras.ops.swapaxes(k, -1, -2)) / np.sqrt(q.shape[-1])
    if mask is None:
        return keras.ops.matmul(keras.ops.softmax(logits, axis=-1), v), keras.ops.softmax(logits, axis=-1)
    mask = keras.ops.cast(keras.ops.convert_to_tensor(mask), "bool")
    try:
        broadcast = np.broadcast_shapes(tuple(mask.shape), tuple(logits.shape))
    except ValueError:
        broadcast = None
    if broadcast != tuple(logits.shape):
        raise ValueError(
            f"un masque de forme {tuple(mask.shape)} ne se diffuse pas vers {tuple(logits.shape)}"
        )
    weights = keras.ops.softmax(keras.ops.where(mask, logits, -1e9), axis=-1)
    weights = keras.ops.where(mask, weights, 0.0)  # une requête sans clé autorisée ne reçoit aucun poids
    return keras.ops.matmul(weights, v), weights
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "scaled_dot_product_attention_tests", "locked": true, "points": 5, "schema_version": 3, "solution": false, "task": false}
demo_rng = np.random.default_rng(SEED)
q, k, v = demo_rng.normal(size=(2, 3, 4)), demo_rng.normal(size=(2, 5, 4)), demo_rng.normal(size=(2, 5, 6))
output, weights = scaled_dot_product_attention(q, k, v)
assert tuple(output.shape) == (2, 3, 6) and tuple(weights.shape) == (2, 3, 5), "formes de sortie incorrectes"
assert np.allclose(np.asarray(weights).sum(axis=-1), 1.0, atol=1e-5), (
    "les poids de chaque requête devraient avoir pour somme 1"
)
none_allowed = np.zeros((3, 5), dtype=bool)
output, weights = scaled_dot_product_attention(q, k, v, none_allowed)
assert not np.isnan(np.asarray(output)).any(), (
    "une requête qui ne peut porter son attention sur aucune clé ne doit pas donner NaN"
)
print("scaled_dot_product_attention : tests visibles réussis")

# %% [markdown]
# ## Exercice 2 — masques (3 points)
#
# * `causal_mask(length)` : un tableau booléen `(length, length)`, vrai là où la requête $i$ peut porter
#   son attention sur la clé $j$, c'est-à-dire là où $j \le i$ (un décodeur ne regarde jamais en avant) ;
# * `padding_mask(lengths, max_length)` : pour un lot de séquences de longueurs réelles `lengths`,
#   complétées jusqu'à `max_length`, un tableau booléen `(batch, 1, max_length)`, vrai pour les clés
#   réelles (l'axe du milieu se diffuse sur les requêtes). Refusez des longueurs inférieures à 0 ou
#   supérieures à `max_length`.


# %% nbgrader={"grade": false, "grade_id": "masks", "locked": false, "schema_version": 3, "solution": true, "task": false}
def causal_mask(length):
    """Booléens ``(length, length)`` : la requête i peut porter son attention sur les clés 0..i."""
    ### BEGIN SOLUTION
    return np.tril(np.ones((length, length), dtype=bool))
    ### END SOLUTION


def padding_mask(lengths, max_length):
    """Booléens ``(batch, 1, max_length)`` : vrais pour les clés réelles de chaque séquence."""
    ### BEGIN SOLUTION
    lengths = np.asarray(lengths)
    if lengths.min(initial=0) < 0 or lengths.max(initial=0) > max_length:
        raise ValueError(f"les longueurs doivent être dans [0 ; {max_length}], et non {lengths.tolist()}")
    return (np.arange(max_length)[None, :] < lengths[:, None])[:, None, :]
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "masks_tests", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
assert np.asarray(causal_mask(3)).dtype == bool, "causal_mask devrait renvoyer des booléens"
assert np.asarray(padding_mask([2], 3)).dtype == bool, "padding_mask devrait renvoyer des booléens"
assert np.array_equal(causal_mask(3), [[1, 0, 0], [1, 1, 0], [1, 1, 1]]), (
    "la requête i porte son attention sur les clés 0..i"
)
assert np.array_equal(padding_mask([2, 3], 4), [[[1, 1, 0, 0]], [[1, 1, 1, 0]]]), "vrai pour les clés réelles"
print("masks : tests visibles réussis")

# %% [markdown]
# ## Exercice 3 — l'attention multi-têtes sous forme de couche Keras (5 points)
#
# `MultiHeadAttention(num_heads, key_dim)` projette les entrées requête, clé et valeur par trois couches
# denses avec biais (`query_dense`, `key_dense`, `value_dense`, chacune vers `num_heads * key_dim`
# unités), découpe chaque projection en `num_heads` têtes de profondeur `key_dim`, place l'axe des têtes
# avant celui de la séquence (`(batch, heads, length, key_dim)`), applique votre attention par produit
# scalaire normalisé tête par tête, recolle les têtes (`(batch, Lq, num_heads * key_dim)`) et projette le
# résultat par une quatrième couche dense, `output_dense`, pour revenir à la taille des caractéristiques
# de la requête. Créez `query_dense`, `key_dense` et `value_dense` dans `__init__` ; `output_dense` a
# besoin de la taille des caractéristiques de la requête, qui n'est connue que dans `build` : créez-la
# là (ses poids viennent alors en dernier).
#
# `call(query, value, key=None, attention_mask=None, return_attention_scores=False)` : la clé vaut par
# défaut la valeur ; `attention_mask` (`(batch, Lq, Lk)`) s'applique à toutes les têtes ; avec
# `return_attention_scores`, renvoyez `(output, weights)`, les poids étant de forme `(batch, heads, Lq, Lk)`.
#
# Avec les mêmes poids, c'est exactement `keras.layers.MultiHeadAttention`. Keras range ses noyaux
# (*kernels*) par tête : le noyau de la requête a la forme `(features, num_heads, key_dim)` et celui de la
# sortie `(num_heads, key_dim, features)` ; remis aux formes `(features, num_heads * key_dim)` et
# `(num_heads * key_dim, features)`, ce sont les noyaux de vos `Dense` (la cellule ci-dessous le vérifie).


# %% nbgrader={"grade": false, "grade_id": "multi_head_attention", "locked": false, "schema_version": 3, "solution": true, "task": false}
class MultiHeadAttention(layers.Layer):
    """Attention multi-têtes, avec projections apprises de la requête, de la clé, de la valeur et de la sortie."""

    def __init__(self, num_heads, key_dim, **kwargs):
        super().__init__(**kwargs)
        ### BEGIN SOLUTION
        self.num_heads, self.key_dim = num_heads, key_dim
        self.query_dense = layers.Dense(num_heads * key_dim)
        self.key_dense = layers.Dense(num_heads * key_dim)
        self.value_dense = layers.Dense(num_heads * key_dim)
        self.output_dense = None  # sa taille est celle des caractéristiques de la requête, connue dans build
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
    """Donne à ``mine`` (la couche de ce notebook) les poids de ``theirs`` (celle de Keras), remis en forme."""
    reshaped = []
    for index, weight in enumerate(theirs.get_weights()):  # requête, clé, valeur, sortie : noyau et biais
        if index == 6:  # le noyau de sortie (heads, key_dim, features)
            reshaped.append(weight.reshape(-1, weight.shape[-1]))
        elif weight.ndim == 3:  # un noyau de projection (features, heads, key_dim)
            reshaped.append(weight.reshape(weight.shape[0], -1))
        else:  # un biais
            reshaped.append(weight.reshape(-1))
    mine.set_weights(reshaped)


x_query = demo_rng.normal(size=(2, 4, 8)).astype("float32")
x_value = demo_rng.normal(size=(2, 6, 8)).astype("float32")
theirs = layers.MultiHeadAttention(num_heads=2, key_dim=3)
mine = MultiHeadAttention(num_heads=2, key_dim=3)
their_output = theirs(x_query, x_value)
mine(x_query, x_value)  # construit la couche
copy_keras_weights(theirs, mine)
my_output, my_weights = mine(x_query, x_value, return_attention_scores=True)
assert np.allclose(np.asarray(my_output), np.asarray(their_output), atol=1e-5), (
    "avec les mêmes poids, votre couche diffère de keras.layers.MultiHeadAttention"
)
assert tuple(my_weights.shape) == (2, 2, 4, 6), (
    "les poids d'attention devraient être de forme (batch, heads, Lq, Lk)"
)
print("MultiHeadAttention : tests visibles réussis")

# %% [markdown]
# ## Exercice 4 — l'encodage positionnel sinusoïdal (2 points)
#
# L'attention ignore l'ordre : permuter les clés ne change rien à la sortie. Vaswani et al. (2017) ajoutent
# à chaque position $p$ un vecteur de `depth` valeurs, pour $i = 0, 1, \dots$ :
#
# $$PE_{p,\,2i} = \sin\!\left(\frac{p}{10000^{2i/\text{depth}}}\right), \qquad
#   PE_{p,\,2i+1} = \cos\!\left(\frac{p}{10000^{2i/\text{depth}}}\right)$$
#
# `positional_encoding(length, depth)` les renvoie sous la forme d'un tableau float32 `(length, depth)`
# (`depth` pair ; refusez une valeur impaire).


# %% nbgrader={"grade": false, "grade_id": "positional_encoding", "locked": false, "schema_version": 3, "solution": true, "task": false}
def positional_encoding(length, depth):
    """L'encodage positionnel sinusoïdal : ``(length, depth)`` en float32."""
    ### BEGIN SOLUTION
    if depth % 2:
        raise ValueError(f"depth doit être pair, et non {depth}")
    positions = np.arange(length)[:, None]
    rates = 1.0 / 10000 ** (np.arange(0, depth, 2) / depth)
    encoding = np.zeros((length, depth))
    encoding[:, 0::2] = np.sin(positions * rates)
    encoding[:, 1::2] = np.cos(positions * rates)
    return encoding.astype("float32")
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "positional_encoding_tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
encoding = positional_encoding(50, 16)
assert encoding.shape == (50, 16) and encoding.dtype == np.float32, "(length, depth) en float32"
assert np.allclose(encoding[0, 0::2], 0.0) and np.allclose(encoding[0, 1::2], 1.0), (
    "à la position 0 : sin 0, cos 0"
)
print("positional_encoding : tests visibles réussis")

# %% [markdown]
# ## Exercice 5 — une carte d'attention (3 points)
#
# `plot_attention(weights, query_labels, key_labels)` dessine une matrice de poids `(Lq, Lk)` sous forme
# de carte de chaleur (`imshow` des poids eux-mêmes : la ligne $i$ est la requête $i$), avec les
# étiquettes des clés le long de l'axe des abscisses, celles des requêtes le long de l'axe des ordonnées,
# des titres d'axes (« clé », « requête ») et une barre de couleurs ; elle renvoie la
# `matplotlib.figure.Figure`.


# %% nbgrader={"grade": false, "grade_id": "plot_attention", "locked": false, "schema_version": 3, "solution": true, "task": false}
def plot_attention(weights, query_labels, key_labels):
    """Une carte de chaleur des poids d'attention, une ligne par requête ; renvoie la Figure."""
    ### BEGIN SOLUTION
    weights = np.asarray(weights)
    if weights.shape != (len(query_labels), len(key_labels)):
        raise ValueError(
            f"des poids de forme {weights.shape} pour {len(query_labels)} requêtes et {len(key_labels)} clés"
        )
    figure, ax = plt.subplots(figsize=(0.45 * len(key_labels) + 2, 0.45 * len(query_labels) + 1))
    image = ax.imshow(weights, cmap="viridis", vmin=0.0, vmax=1.0)
    ax.set_xticks(range(len(key_labels)), [str(label) for label in key_labels])
    ax.set_yticks(range(len(query_labels)), [str(label) for label in query_labels])
    ax.set(xlabel="clé", ylabel="requête")
    figure.colorbar(image, ax=ax)
    return figure
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "plot_attention_tests", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
figure = plot_attention(np.eye(3)[::-1], ["a", "b", "c"], ["x", "y", "z"])
assert figure.axes and figure.axes[0].images, "dessinez les poids avec imshow"
print("plot_attention : tests visibles réussis")

# %% [markdown]
# ## Inverser des séquences avec l'attention
#
# Une séquence de 8 nombres de [0 ; 1] doit ressortir inversée. Le modèle ci-dessous (fourni) plonge
# chaque nombre par une couche dense, ajoute **votre encodage positionnel** (un plongement (*embedding*)
# gelé des positions, que le modèle reçoit en seconde entrée), applique une tête de l'attention
# multi-têtes de Keras (le même calcul que le vôtre, enregistré avec le modèle sous une forme que tout
# Keras sait charger) et relit le nombre de chaque position. Pour inverser, la requête $i$ doit lire la
# valeur de la clé $7 - i$, et elle seule (l'erreur quadratique pénalise tout mélange) : la carte
# d'attention devrait être l'anti-diagonale. Cette cellule est ignorée lors de la notation de votre
# notebook ; exécutez-la et rendez `reversal.keras`.

# %% tags=["skip-grading"]
import time

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
started = time.perf_counter()
reversal_history = reversal.fit(x_train, y_train, epochs=BUDGET.pick(full=20, ci=1), batch_size=64, verbose=0)
reversal.save(REVERSAL_FILE)
costs.write_record(REVERSAL_FILE, BUDGET, len(reversal_history.epoch), time.perf_counter() - started)

x_probe, y_probe = reversal_data(200, seed=SEED + 1)
predictions, scores = reversal.predict(x_probe, verbose=0)
mean_error = float(np.mean(np.abs(predictions - y_probe)))
mean_map = scores[:, 0].mean(axis=0)
anti_diagonal_mass = float(np.mean(mean_map[np.arange(LENGTH), LENGTH - 1 - np.arange(LENGTH)]))
print(
    f"inversion : erreur absolue moyenne {mean_error:.4f}, "
    f"{anti_diagonal_mass:.1%} de l'attention sur l'anti-diagonale"
)
labels = [f"{value:.2f}" for value in x_probe[0][0, :, 0]]
figure = plot_attention(scores[0, 0], labels, labels)
figure.savefig("attention_map.png", dpi=80)

# %% [markdown]
# ## L'attention du modèle entraîné (3 points)
#
# Les tests cachés chargent `reversal.keras` (sans risque : aucun code personnalisé n'est exécuté), lui
# donnent 8 000 séquences inédites (valeurs tirées uniformément dans [0 ; 1] à partir d'une graine choisie
# au moment de la notation) et vérifient qu'il les inverse (une erreur absolue moyenne d'au plus 0,05,
# ses sorties étant ramenées dans [0 ; 1]) et qu'au moins **0,8** de l'attention tombe sur l'anti-diagonale
# (en moyenne sur les requêtes et les têtes). Chaque critère est décidé de sorte qu'un modèle exactement à
# la limite échoue au plus une fois sur dix mille notations ; un modèle dont l'erreur dépasse la limite de
# 0,022, ou dont la part lui est inférieure de 0,037, réussit au plus une fois sur mille.

# %% nbgrader={"grade": true, "grade_id": "reversal_model_tests", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false} tags=["skip-grading"]
costs.require(
    anti_diagonal_mass >= 0.8, f"{anti_diagonal_mass:.1%} de l'attention sur l'anti-diagonale", BUDGET
)
costs.require(
    mean_error <= 0.05,
    f"le modèle inverse les séquences avec une erreur absolue moyenne de {mean_error:.4f}",
    BUDGET,
)


# %% [markdown]
# # Partie B — H-TAP : prédire une vidéo loin dans le futur dans un espace latent temporel
#
# **TAP** (prédiction latente temporelle, <span lang="en">temporal latent prediction</span>) prédit une
# vidéo en trois étapes : un **encodeur** convolutif envoie chaque image sur un petit vecteur latent, un
# **prédicteur** envoie les vecteurs latents des dernières images sur le vecteur latent suivant, et un
# **décodeur** ramène un vecteur latent à une image. Pour voir 20 images plus loin, on déroule le
# prédicteur : chaque vecteur latent prédit est ajouté à l'historique, et le suivant est prédit à partir
# de celui-ci. Le prédicteur de TAP est récurrent (un GRU) sur une courte fenêtre de vecteurs latents.
#
# Les vidéos de `tpdl.course.videos.moving_shapes` rendent cela difficile à dessein : un **disque**
# lumineux parcourt une ellipse en 10 à 16 images par tour, un carré fait un aller-retour à chaque
# tour, et une barre grise les cache tous deux quand ils passent derrière elle. Une fenêtre de
# 6 images ne contient jamais un tour entier, et chaque petite erreur d'un déroulé alimente la prédiction
# suivante : loin dans le futur, les images de TAP deviennent floues.
#
# **H-TAP** (TAP hiérarchique) garde l'encodeur et le décodeur et remplace le prédicteur par une
# **attention sur tout l'historique des vecteurs latents, à deux échelles de temps**. Le mouvement se
# répète : la meilleure estimation du vecteur latent suivant est donc ce qui a suivi le moment passé qui
# ressemblait le plus au moment présent :
#
# * l'échelle **fine** compare le dernier vecteur latent à chaque vecteur latent passé $z_k$ et lit celui
#   qui l'a suivi, $z_{k+1}$ ;
# * l'échelle **grossière** fait de même avec les moyennes de `span` vecteurs latents consécutifs (un
#   tronçon de mouvement plus long, qui distingue un carré allant vers la gauche d'un carré allant vers la
#   droite), et lit le vecteur latent qui a suivi ce tronçon ;
# * une porte apprise mélange les deux. La prédiction est alors un mélange de vecteurs latents qui ont
#   réellement existé.
#
# Chaque exercice ci-dessous est noté ; les déroulés que vous entraînez, et les nombres que vous
# rapportez, sont réévalués sur des vidéos tirées au moment de la notation.

# %%
from tpdl.course.videos import moving_shapes

CONTEXT, HORIZON, LATENT, TAP_WINDOW = 20, 20, 32, 6  # 20 images vues, 20 prédites

sample_videos, sample_positions = moving_shapes(2, frames=CONTEXT + HORIZON, seed=SEED)
figure, axes = plt.subplots(2, 10, figsize=(12, 2.8))
for row, video in enumerate(sample_videos):
    for column, axis in enumerate(axes[row]):
        axis.imshow(video[4 * column, :, :, 0], cmap="gray", vmin=0, vmax=1)
        axis.set_axis_off()
        axis.set_title(f"t={4 * column}", fontsize=8)
figure.suptitle("deux vidéos, une image sur quatre")
plt.show()

# %% [markdown]
# ## Exercice 6 — l'auto-encodeur d'images (2 points)
#
# `build_frame_autoencoder(latent_dim=LATENT)` renvoie `(encoder, decoder)`, deux modèles Keras :
#
# * l'**encodeur**, `(None, 32, 32, 1) -> (None, latent_dim)` : des convolutions (avec un pas supérieur
#   à 1, ou suivies d'un sous-échantillonnage) jusqu'à 8×8, une mise à plat, puis une `Dense(latent_dim)`
#   sans activation ;
# * le **décodeur**, `(None, latent_dim) -> (None, 32, 32, 1)` : une couche dense vers une carte 8×8, des
#   convolutions transposées (ou un suréchantillonnage) pour revenir à 32×32, et une **sigmoïde** à la
#   fin (les pixels sont dans [0 ; 1]).
#
# Refusez un `latent_dim` inférieur à 1.


# %% nbgrader={"grade": false, "grade_id": "build_frame_autoencoder", "locked": false, "schema_version": 3, "solution": true, "task": false}
def build_frame_autoencoder(latent_dim=LATENT):
    """``(encoder, decoder)`` : des images grises 32x32 vers ``latent_dim`` valeurs, et retour."""
    ### BEGIN SOLUTION
    if latent_dim < 1:
        raise ValueError(f"latent_dim doit valoir au moins 1, et non {latent_dim}")
    encoder = keras.Sequential(
        [
            keras.Input((32, 32, 1)),
            layers.Conv2D(16, 3, strides=2, padding="same", activation="relu"),
            layers.Conv2D(32, 3, strides=2, padding="same", activation="relu"),
            layers.Flatten(),
            layers.Dense(latent_dim),
        ],
        name="encoder",
    )
    decoder = keras.Sequential(
        [
            keras.Input((latent_dim,)),
            layers.Dense(8 * 8 * 32, activation="relu"),
            layers.Reshape((8, 8, 32)),
            layers.Conv2DTranspose(16, 3, strides=2, padding="same", activation="relu"),
            layers.Conv2DTranspose(1, 3, strides=2, padding="same", activation="sigmoid"),
        ],
        name="decoder",
    )
    return encoder, decoder
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "build_frame_autoencoder_tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
encoder, decoder = build_frame_autoencoder()
assert encoder.output_shape == (None, LATENT), f"l'encodeur produit {encoder.output_shape}"
assert decoder.output_shape == (None, 32, 32, 1), f"le décodeur produit {decoder.output_shape}"
print("build_frame_autoencoder : tests visibles réussis")

# %% [markdown]
# ## Exercice 7 — le prédicteur de TAP (2 points)
#
# `build_tap(window=TAP_WINDOW, latent_dim=LATENT, units=128)` : un modèle
# `(None, window, latent_dim) -> (None, latent_dim)` qui lit la fenêtre de vecteurs latents, du plus
# ancien au plus récent, avec un `GRU(units)` et prédit le vecteur latent suivant comme le **dernier
# vecteur latent plus une correction** (une `Dense(latent_dim)` appliquée à l'état du GRU) : prédire un changement
# est plus facile que prédire un vecteur latent à partir de rien. Extrayez le dernier vecteur latent avec
# des couches intégrées à Keras (`Cropping1D`, puis `Flatten`), pour que le modèle enregistré se charge
# partout. Refusez (`ValueError`) une valeur de `window`, `latent_dim` ou `units` inférieure à 1.


# %% nbgrader={"grade": false, "grade_id": "build_tap", "locked": false, "schema_version": 3, "solution": true, "task": false}
def build_tap(window=TAP_WINDOW, latent_dim=LATENT, units=128):
    """Le prédicteur de TAP : un GRU sur les ``window`` derniers vecteurs latents ; suivant = dernier + correction."""
    ### BEGIN SOLUTION
    if min(window, latent_dim, units) < 1:
        raise ValueError(
            f"window, latent_dim et units doivent valoir au moins 1, et non {window}, {latent_dim}, {units}"
        )
    latents = keras.Input((window, latent_dim))
    state = layers.GRU(units)(latents)
    last = layers.Flatten()(layers.Cropping1D((window - 1, 0))(latents))
    return keras.Model(latents, layers.Add()([last, layers.Dense(latent_dim)(state)]), name="tap")
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "build_tap_tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false}
tap_step = build_tap()
assert tap_step.input_shape == (None, TAP_WINDOW, LATENT), f"TAP lit {tap_step.input_shape}"
assert tap_step.output_shape == (None, LATENT), f"TAP prédit {tap_step.output_shape}"
print("build_tap : tests visibles réussis")

# %% [markdown]
# ## Exercice 8 — le prédicteur de H-TAP : l'attention à deux échelles de temps (4 points)
#
# `build_htap(history=CONTEXT, latent_dim=LATENT, key_dim=64, span=2)` : un modèle
# `(None, history, latent_dim) -> (None, latent_dim)`. Avec $z_0 \dots z_{n-1}$ les vecteurs latents
# ($n$ = `history`) et, pour chaque échelle, une projection sans biais **partagée** par la requête et les
# clés, $P$ = `Dense(key_dim, use_bias=False)` :
#
# * **fine** : requête $P(z_{n-1})$, clés $P(z_0) \dots P(z_{n-2})$, valeurs $z_1 \dots z_{n-1}$
#   (le successeur de chaque clé) ;
# * **grossière** : avec $m_k$ la moyenne de $z_k \dots z_{k+s-1}$ ($s$ = `span` ; `AveragePooling1D(span,
#   strides=1)`), requête $P'(m_{n-s})$, clés $P'(m_0) \dots P'(m_{n-s-1})$, valeurs
#   $z_s \dots z_{n-1}$ (le vecteur latent qui suit chaque tronçon) ;
# * le vecteur latent retrouvé à chaque échelle est `layers.Attention(use_scale=True)([query, values, keys])`
#   (une attention par produit scalaire normalisé avec un facteur d'échelle appris, comme à l'exercice 1) ;
# * une porte, `Dense(2, activation="softmax")` appliquée aux deux vecteurs latents retrouvés mis côte à côte, les
#   pondère ; la sortie est leur somme pondérée (`Concatenate(axis=1)`, `Reshape`, `Dot(axes=1)`).
#
# Découpez les séquences avec `Cropping1D` ; n'utilisez que des couches intégrées à Keras, pour que le
# modèle enregistré se charge partout. Refusez un historique inférieur à 3, et une longueur de tronçon
# inférieure à 2 ou qui n'est pas inférieure à l'historique.


# %% nbgrader={"grade": false, "grade_id": "build_htap", "locked": false, "schema_version": 3, "solution": true, "task": false}
def build_htap(history=CONTEXT, latent_dim=LATENT, key_dim=64, span=2):
    """Le prédicteur de H-TAP : une attention de recherche sur l'historique, à une échelle de temps fine et une grossière."""
    ### BEGIN SOLUTION
    if history < 3:
        raise ValueError(f"history doit valoir au moins 3, et non {history}")
    if not 2 <= span < history:
        raise ValueError(f"span doit appartenir à [2 ; history[, et non {span}")
    latents = keras.Input((history, latent_dim))

    def retrieve(query, keys, values):
        project = layers.Dense(key_dim, use_bias=False)  # une seule projection pour la requête et les clés
        return layers.Attention(use_scale=True)([project(query), values, project(keys)])

    fine = retrieve(
        layers.Cropping1D((history - 1, 0))(latents),  # z_{n-1}
        layers.Cropping1D((0, 1))(latents),  # z_0 .. z_{n-2}
        layers.Cropping1D((1, 0))(latents),  # z_1 .. z_{n-1}
    )
    means = layers.AveragePooling1D(span, strides=1)(latents)  # m_0 .. m_{n-s}
    coarse = retrieve(
        layers.Cropping1D((history - span, 0))(means),  # m_{n-s}
        layers.Cropping1D((0, 1))(means),  # m_0 .. m_{n-s-1}
        layers.Cropping1D((span, 0))(latents),  # z_s .. z_{n-1}
    )
    both = layers.Concatenate(axis=1)([fine, coarse])  # (None, 2, latent_dim)
    gate = layers.Dense(2, activation="softmax")(layers.Flatten()(both))
    mixed = layers.Dot(axes=1)([layers.Reshape((2, 1))(gate), both])
    return keras.Model(latents, layers.Flatten()(mixed), name="htap")
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "build_htap_tests", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
htap_step = build_htap()
assert htap_step.input_shape == (None, CONTEXT, LATENT), f"H-TAP lit {htap_step.input_shape}"
assert htap_step.output_shape == (None, LATENT), f"H-TAP prédit {htap_step.output_shape}"
attentions = [layer for layer in htap_step.layers if isinstance(layer, layers.Attention)]
assert len(attentions) == 2, f"une attention par échelle de temps, et non {len(attentions)}"
print("build_htap : tests visibles réussis")

# %% [markdown]
# ## Exercice 9 — le déroulé (3 points)
#
# `build_rollout(encoder, step, decoder, context=CONTEXT, horizon=HORIZON)` renvoie un unique modèle Keras
# `(None, context, 32, 32, 1) -> (None, horizon, 32, 32, 1)` : il encode chaque image du contexte
# (`TimeDistributed(encoder)`), puis, `horizon` fois, prédit avec `step` le vecteur latent suivant à
# partir des `window` **derniers** vecteurs latents de l'historique (`window = step.input_shape[1]` ; les
# prédictions déjà faites font partie de l'historique) et l'ajoute à l'historique, et décode enfin les
# `horizon` vecteurs latents prédits (`TimeDistributed(decoder)`). Ainsi déplié, le déroulé est un seul
# modèle que tout Keras sait charger et exécuter. Refusez (`ValueError`) un prédicteur dont la fenêtre
# est plus longue que le contexte, et un prédicteur dont les vecteurs latents ne sont pas ceux de
# l'encodeur.


# %% nbgrader={"grade": false, "grade_id": "build_rollout", "locked": false, "schema_version": 3, "solution": true, "task": false}
def build_rollout(encoder, step, decoder, context=CONTEXT, horizon=HORIZON):
    """Le déroulé autorégressif en un seul modèle : ``context`` images en entrée, ``horizon`` images en sortie."""
    ### BEGIN SOLUTION
    window, latent_dim = step.input_shape[1], step.input_shape[2]
    if window > context:
        raise ValueError(
            f"le prédicteur lit {window} vecteurs latents, mais le contexte ne compte que {context} images"
        )
    if encoder.output_shape[-1] != latent_dim or step.output_shape[-1] != latent_dim:
        raise ValueError(
            f"l'encodeur donne des vecteurs latents de {encoder.output_shape[-1]} valeurs, le prédicteur en lit "
            f"{latent_dim} et en prédit {step.output_shape[-1]}"
        )
    frames = keras.Input((context, *encoder.input_shape[1:]))
    history = layers.TimeDistributed(encoder)(frames)
    for known in range(context, context + horizon):
        recent = layers.Cropping1D((known - window, 0))(history)
        predicted = layers.Reshape((1, latent_dim))(step(recent))
        history = layers.Concatenate(axis=1)([history, predicted])
    future = layers.Cropping1D((context, 0))(history)
    return keras.Model(frames, layers.TimeDistributed(decoder)(future), name=f"{step.name}_rollout")
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "build_rollout_tests", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
rollout = build_rollout(encoder, tap_step, decoder)
assert rollout.output_shape == (None, HORIZON, 32, 32, 1), f"le déroulé produit {rollout.output_shape}"
assert build_rollout(encoder, htap_step, decoder, horizon=3).output_shape == (None, 3, 32, 32, 1)
print("build_rollout : tests visibles réussis")

# %% [markdown]
# ## Exercice 10 — évaluation par horizon (3 points)
#
# `evaluate_rollouts(predicted, target, positions)` compare les images prédites aux vraies, toutes deux de
# forme `(n, horizon, 32, 32, 1)`, horizon par horizon, en moyenne sur les `n` vidéos. Elle renvoie un
# dictionnaire de trois tableaux de flottants de forme `(horizon,)` :
#
# * `"mse"` : l'erreur quadratique moyenne des pixels ;
# * `"ssim"` : la similarité structurelle de chaque image prédite avec la vraie, telle que la calcule
#   `tf.image.ssim(..., max_val=1.0)` (une fenêtre gaussienne 11×11 d'écart type 1,5, sans remplissage,
#   $C_1 = 0.01^2$, $C_2 = 0.03^2$) ;
# * `"tracked"` : la **cohérence**, la part des vidéos dans lesquelles le disque est là où il doit être.
#   Le disque, seul objet plus lumineux que 0,8, est localisé dans une image à la ligne et à la colonne
#   moyennes de ses pixels plus lumineux que 0,8 (le pixel $(i, j)$ a son centre en $(i + 0.5, j + 0.5)$) ;
#   il est suivi quand ce point se trouve à 3 pixels au plus de son vrai centre, donné par `positions`
#   `(n, horizon, 2)` (ligne, colonne). Une image sans aucun pixel plus lumineux que 0,8 a perdu le disque.
#
# Refusez des images de formes différentes, et des positions qui ne leur correspondent pas.


# %% nbgrader={"grade": false, "grade_id": "evaluate_rollouts", "locked": false, "schema_version": 3, "solution": true, "task": false}
def evaluate_rollouts(predicted, target, positions):
    """``{"mse", "ssim", "tracked"}`` par horizon, des images prédites comparées aux vraies."""
    ### BEGIN SOLUTION
    import tensorflow as tf

    predicted = np.asarray(predicted, dtype="float32")
    target = np.asarray(target, dtype="float32")
    positions = np.asarray(positions, dtype="float32")
    if predicted.shape != target.shape or predicted.ndim != 5:
        raise ValueError(
            f"les images prédites {predicted.shape} et les vraies images {target.shape} diffèrent"
        )
    if positions.shape != (*target.shape[:2], 2):
        raise ValueError(f"des positions de forme {positions.shape} pour des images de forme {target.shape}")
    mse = np.mean((predicted - target) ** 2, axis=(0, 2, 3, 4))
    ssim = np.asarray(tf.image.ssim(predicted, target, max_val=1.0)).mean(axis=0)
    bright = predicted[..., 0] > 0.8  # (n, horizon, lignes, colonnes)
    count = bright.sum(axis=(2, 3))
    centres = np.arange(predicted.shape[2]) + 0.5
    with np.errstate(invalid="ignore", divide="ignore"):
        rows = (bright * centres[:, None]).sum(axis=(2, 3)) / count
        columns = (bright * centres[None, :]).sum(axis=(2, 3)) / count
    distance = np.hypot(rows - positions[..., 0], columns - positions[..., 1])
    tracked = np.where(count > 0, distance <= 3.0, False).mean(axis=0)
    return {"mse": mse, "ssim": ssim, "tracked": tracked}
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "evaluate_rollouts_tests", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
same = evaluate_rollouts(
    sample_videos[:, CONTEXT:], sample_videos[:, CONTEXT:], sample_positions[:, CONTEXT:]
)
assert set(same) == {"mse", "ssim", "tracked"}, f"les clés sont mse, ssim et tracked, et non {sorted(same)}"
assert np.allclose(same["mse"], 0.0) and np.allclose(same["ssim"], 1.0), (
    "une prédiction parfaite : MSE 0, SSIM 1"
)
assert np.shape(same["tracked"]) == (HORIZON,), "une valeur par horizon"
print("evaluate_rollouts : tests visibles réussis")

# %% [markdown]
# ## Entraîner TAP et H-TAP
#
# Cette cellule est ignorée lors de la notation de votre notebook : exécutez-la avec le budget complet
# avant de rendre votre travail. L'auto-encodeur apprend d'abord, sur des images isolées ; puis les deux
# prédicteurs apprennent dans l'espace latent par **forçage par l'enseignant** (*teacher forcing* : les
# vrais vecteurs latents d'une fenêtre en entrée, le vrai vecteur latent suivant en sortie), l'encodeur et
# le décodeur étant gelés. Les deux déroulés sont enregistrés, `tap_rollout.keras` et
# `htap_rollout.keras`.
#
# Ce que cela coûte sur 2 cœurs libres (la mesure de référence du cours, faite sur la solution ; votre
# architecture est chronométrée en temps CPU, que les autres programmes qui tournent à côté ne modifient
# pas) : l'auto-encodeur de référence (142 721 paramètres) apprend 40 000 images en 6 époques d'environ
# 7 s ; le prédicteur de TAP (66 336) et celui de H-TAP (4 228) prennent ensuite 12 s et 3 s. La cellule
# chronomètre d'abord quelques pas de chacune de vos architectures et vous avertit au-delà de ce qui est
# prévu (auto-encodeur : au plus 1 000 000 de paramètres et 40 s par époque ; chaque prédicteur :
# 500 000 et 30 s) : un premier auto-encodeur qui appliquait ses convolutions à chaque image en pleine
# résolution, avec de nombreux filtres, a pris environ 70 minutes.

# %% tags=["skip-grading"]
import json
import time

N_VIDEOS = BUDGET.pick(full=1000, ci=48)
train_videos, _ = moving_shapes(N_VIDEOS, frames=CONTEXT + HORIZON, seed=SEED)
train_frames = train_videos.reshape(-1, 32, 32, 1)

keras.utils.set_random_seed(SEED)
encoder, decoder = build_frame_autoencoder()
frame_input = keras.Input((32, 32, 1))
autoencoder = keras.Model(frame_input, decoder(encoder(frame_input)))
autoencoder.compile(optimizer=keras.optimizers.Adam(2e-3), loss="binary_crossentropy")
AUTOENCODER_EPOCHS = BUDGET.pick(full=6, ci=1)
print(
    "auto-encodeur :",
    costs.preflight(
        autoencoder,
        train_frames,
        train_frames,
        epochs=AUTOENCODER_EPOCHS,
        batch_size=64,
        limit=costs.Limit(parameters=1_000_000, epoch_s=40),
    ),
)
started = time.perf_counter()
autoencoder.fit(train_frames, train_frames, batch_size=64, epochs=AUTOENCODER_EPOCHS, verbose=2)
training_seconds = {"autoencoder": time.perf_counter() - started}
train_latents = encoder.predict(train_frames, batch_size=512, verbose=0).reshape(N_VIDEOS, -1, LATENT)


def teacher_forcing_pairs(latents, window):
    """Chaque fenêtre de ``window`` vrais vecteurs latents, et le vecteur latent qui la suit."""
    ends = range(window, latents.shape[1])
    return (
        np.concatenate([latents[:, end - window : end] for end in ends]),
        np.concatenate([latents[:, end] for end in ends]),
    )


rollouts = {}
for name, step in (("tap", build_tap()), ("htap", build_htap())):
    keras.utils.set_random_seed(SEED)
    step.compile(optimizer=keras.optimizers.Adam(1e-3, clipnorm=1.0), loss="mse")
    x_pairs, y_pairs = teacher_forcing_pairs(train_latents, step.input_shape[1])
    STEP_EPOCHS = BUDGET.pick(full=5, ci=1)
    print(
        f"{name} :",
        costs.preflight(
            step,
            x_pairs,
            y_pairs,
            epochs=STEP_EPOCHS,
            batch_size=128,
            limit=costs.Limit(parameters=500_000, epoch_s=30),
        ),
    )
    started = time.perf_counter()
    step.fit(x_pairs, y_pairs, batch_size=128, epochs=STEP_EPOCHS, verbose=2)
    training_seconds[name] = time.perf_counter() - started
    rollouts[name] = build_rollout(encoder, step, decoder)
    rollouts[name].save(f"{name}_rollout.keras")
    costs.write_record(f"{name}_rollout.keras", BUDGET, STEP_EPOCHS, training_seconds[name])
print({name: round(seconds, 1) for name, seconds in training_seconds.items()}, "secondes d'entraînement")

# %% [markdown]
# ## Résultats sur des vidéos inédites (5 points)
#
# Les deux déroulés voient les 20 premières images de vidéos sur lesquelles aucun des deux n'a été
# entraîné et prédisent les 20 suivantes. La cellule ci-dessous écrit ce que vous avez mesuré dans
# `htap_report.json` (la graine, le nombre de vidéos, et pour chaque modèle la MSE, la SSIM et le suivi
# par horizon), trace les trois courbes en fonction de l'horizon et montre un déroulé de chaque modèle
# sous la vérité terrain.
#
# Les tests cachés chargent vos deux déroulés (sans risque : aucun code personnalisé n'est exécuté), les
# évaluent sur 256 nouvelles vidéos de formes en mouvement tirées à partir d'une graine choisie au moment
# de la notation, et vérifient que TAP est un vrai modèle de référence (sur les horizons 1 à 10, sa MSE
# vaut au plus 0,8 fois celle obtenue en répétant la dernière image du contexte), que la MSE de H-TAP sur
# les horizons 11 à 20 vaut au plus **0,9 fois** celle de TAP, que les prédictions lointaines de H-TAP
# changent quand seules les plus anciennes images du contexte changent (il exploite le long historique),
# et que les nombres de votre rapport sont bien ceux que donnent vos modèles sur les vidéos de votre
# rapport. Chaque condition sur un ratio de MSE est vérifiée vidéo par vidéo et doit être satisfaite sur
# au moins 50 % des vidéos qu'un modèle pourrait recevoir : c'est un test du signe, qui compte les vidéos
# sur lesquelles elle est satisfaite sans regarder de combien. Quand 256 vidéos ne suffisent pas à
# trancher, les tests en tirent davantage, 512 vidéos en tout, puis 1 024. Un modèle qui satisfait une condition sur exactement la moitié des
# vidéos échoue moins d'une fois sur dix mille notations ; un modèle qui la satisfait sur 12 points de
# pourcentage de vidéos en moins réussit moins d'une fois sur mille.

# %% tags=["skip-grading"]
REPORT_SEED, REPORT_VIDEOS = SEED + 1, 100
fresh_videos, fresh_positions = moving_shapes(REPORT_VIDEOS, frames=CONTEXT + HORIZON, seed=REPORT_SEED)
results = {}
for name, model in rollouts.items():
    predicted = model.predict(fresh_videos[:, :CONTEXT], batch_size=50, verbose=0)
    results[name] = {
        key: np.asarray(value).tolist()
        for key, value in evaluate_rollouts(
            predicted, fresh_videos[:, CONTEXT:], fresh_positions[:, CONTEXT:]
        ).items()
    }
    results[name]["predicted"] = predicted[0]
report = {"seed": REPORT_SEED, "videos": REPORT_VIDEOS, "training_seconds": training_seconds}
report.update(
    {name: {k: v for k, v in result.items() if k != "predicted"} for name, result in results.items()}
)
with open("htap_report.json", "w") as file:
    json.dump(report, file, indent=1)

horizons = np.arange(1, HORIZON + 1)
figure, axes = plt.subplots(1, 3, figsize=(13, 3.4))
for name, label in (("tap", "TAP"), ("htap", "H-TAP")):
    for axis, key, title in zip(
        axes,
        ("mse", "ssim", "tracked"),
        ("MSE", "SSIM", "disque suivi"),  # i18n
    ):
        axis.plot(horizons, results[name][key], marker=".", label=label)
        axis.set(title=title, xlabel="horizon (en images)")
axes[0].legend()
figure.tight_layout()
figure.savefig("htap_horizons.png", dpi=80)

shown = [0, 4, 9, 14, 19]
figure, axes = plt.subplots(3, len(shown), figsize=(1.6 * len(shown), 5.2))
for row, (label, frames) in enumerate(
    (
        ("vérité", fresh_videos[0, CONTEXT:]),  # i18n
        ("TAP", results["tap"]["predicted"]),
        ("H-TAP", results["htap"]["predicted"]),
    )
):
    for column, horizon in enumerate(shown):
        axes[row, column].imshow(frames[horizon, :, :, 0], cmap="gray", vmin=0, vmax=1)
        axes[row, column].set_xticks([])
        axes[row, column].set_yticks([])
        axes[0, column].set_title(f"+{horizon + 1}", fontsize=9)
    axes[row, 0].set_ylabel(label)
figure.tight_layout()
figure.savefig("rollouts.png", dpi=80)

for name, label in (("tap", "TAP"), ("htap", "H-TAP")):
    far = slice(10, 20)
    mse, ssim, tracked = (np.asarray(results[name][key]) for key in ("mse", "ssim", "tracked"))
    print(
        f"{label:6s} MSE h1-10 {mse[:10].mean():.4f}, h11-20 {mse[far].mean():.4f} ; "
        f"SSIM h11-20 {ssim[far].mean():.3f} ; disque suivi h11-20 {tracked[far].mean():.0%}"
    )
ratio = np.mean(results["htap"]["mse"][10:]) / np.mean(results["tap"]["mse"][10:])
print(f"H-TAP / TAP, MSE sur les horizons 11 à 20 : {ratio:.2f}")

# %% nbgrader={"grade": true, "grade_id": "htap_models_tests", "locked": true, "points": 5, "schema_version": 3, "solution": false, "task": false} tags=["skip-grading"]
costs.require(ratio <= 0.9, f"l'erreur lointaine de H-TAP vaut {ratio:.2f} fois celle de TAP", BUDGET)

# %% [markdown]
# ## Analyse (4 points, noté à la main)
#
# Dans la cellule ci-dessous, en quelques paragraphes et à partir de vos propres figures : où chaque
# modèle se trompe-t-il, et à partir de quel horizon ? Que retrouve l'attention de H-TAP, et pourquoi son
# déroulé ne dérive-t-il pas comme celui du GRU ? Quand H-TAP échouerait-il (pensez à un mouvement qui ne
# se répète jamais, ou à un historique plus court qu'un tour du disque) ? Qu'essaieriez-vous ensuite ?

# %% [markdown] nbgrader={"grade": true, "grade_id": "htap_analysis", "locked": false, "points": 4, "schema_version": 3, "solution": true, "task": false}
# **Où chaque modèle se trompe.** Sur les 100 vidéos du rapport, l'erreur de TAP sur les images double
# en cinq images (MSE de 0,010 à +1, de 0,018 à +5) et continue de croître (0,024 à +20) ; sa SSIM tombe
# de 0,69 à 0,33. La courbe de suivi montre pourquoi : le disque est là où il doit être dans 79 % des
# vidéos une image plus loin, dans 9 % cinq images plus loin, et presque jamais au-delà de dix. Chaque
# vecteur latent prédit est un peu faux, le GRU relit ses propres erreurs, et ses vecteurs latents
# s'éloignent de tout ce que le décodeur a vu : le disque s'étale en une traînée grise le long de son
# orbite, le carré s'efface. L'erreur de H-TAP reste entre 0,003 et 0,008 sur les 20 horizons (SSIM de
# 0,82 à 0,75), et il suit encore le disque dans environ 60 % des vidéos 20 images plus loin : son erreur
# lointaine vaut environ un tiers de celle de TAP. Ce qu'il perd vient du carré (il apparaît souvent deux
# fois, faiblement) et des images où le disque passe derrière la barre, dont les vecteurs latents
# correspondent à plusieurs moments.
#
# **Ce que retrouve l'attention.** L'échelle fine compare le dernier vecteur latent à chacun des vecteurs
# latents passés et renvoie un mélange pondéré de leurs successeurs ; le mouvement étant périodique, la
# meilleure correspondance est l'image un tour plus tôt, et son successeur est l'image suivante. L'échelle
# grossière compare une paire d'images, ce qui dit aussi dans quel sens va le carré. Comme la sortie est
# un mélange de vecteurs latents qui ont réellement existé, chaque prédiction reste sur la variété du
# décodeur : une petite erreur fait choisir une image passée légèrement fausse au lieu de s'accumuler dans
# un état caché.
#
# **Quand il échouerait.** Si l'historique contient moins d'un tour (avec un contexte de 6 images, le
# « H-TAP » du catalogue qui ne voit que 6 vecteurs latents fait moins bien que TAP), si le mouvement ne
# se répète jamais (une marche aléatoire, un nouvel objet qui entre dans le champ), ou si la période
# dérive, la recherche n'a rien de juste à copier, et un mélange de plusieurs images passées donne du
# flou. Il ne peut pas non plus prédire ce qu'il n'a pas vu dans cette vidéo même. Ensuite, je lui
# donnerais les deux : le vecteur latent retrouvé comme entrée supplémentaire d'un correcteur récurrent
# entraîné sur des déroulés dépliés (pour qu'il apprenne à corriger ses propres erreurs), des clés munies
# d'encodages positionnels de la phase, et un historique plus long que le contexte en conservant les
# vecteurs latents prédits.
