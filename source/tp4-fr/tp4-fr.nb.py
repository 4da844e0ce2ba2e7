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
# # TP4 — Segmentation et volumes : Dice, IoU, un U-Net et un CNN 3D
#
# L'imagerie médicale pose deux questions à un réseau : *où* se trouve la lésion (la segmentation :
# une réponse par pixel) et *de quoi* s'agit-il (la classification, souvent d'un volume 3D). Dans ce
# TP, vous écrivez les métriques qui servent à juger une segmentation (le coefficient de Dice et
# l'IoU), vous utilisez le Dice comme fonction de perte, vous construisez un U-Net à partir de ses
# blocs et l'entraînez à délimiter des lésions, puis vous classez des volumes 3D avec un réseau de
# couches `Conv3D`.
#
# De vrais examens d'imagerie ne peuvent pas être distribués avec un cours (ni téléchargés par
# chaque étudiant) : les données viennent donc des générateurs à graine du kit,
# `tpdl.course.phantoms` : des coupes qui imitent l'IRM, avec des lésions, et de petits volumes
# contenant une lésion sphérique ou tubulaire. Les tests cachés évaluent vos modèles enregistrés
# sur des fantômes tirés d'une graine choisie au moment de la notation : un modèle doit avoir
# appris à quoi ressemble une lésion, et non les images sur lesquelles il a été entraîné.
#
# Complétez chaque cellule qui contient `YOUR CODE HERE` et exécutez les tests placés sous chaque
# exercice. Règles :
#
# * les métriques utilisent `keras.ops` (ou les opérations sur les tenseurs du moteur de calcul,
#   le *backend*), afin de fonctionner sur des tableaux NumPy, sur des tenseurs et à l'intérieur
#   de `model.fit` ;
# * les réseaux utilisent des couches Keras de l'API fonctionnelle, sans aucune couche `Lambda` ;
# * une entrée invalide est refusée par une `ValueError` qui dit ce qui ne va pas.

# %%
import tpdl  # en premier : fait taire les messages de démarrage de TensorFlow

import keras
import matplotlib.pyplot as plt
import numpy as np
from keras import layers

from tpdl.course import budget, costs
from tpdl.course.phantoms import phantoms, show_overlays, volumes

BUDGET = budget.current()
SEED = 0
keras.utils.set_random_seed(SEED)
print(f"budget : {BUDGET.name}")

# %% [markdown]
# ## Les données
#
# `phantoms(n, size=128, seed=0)` renvoie `n` coupes (float32 dans [0, 1], de forme
# `(n, 128, 128, 1)`) et leurs masques de lésions (uint8 dans {0, 1}, de même forme). Chaque coupe
# contient un corps, trois organes, une à trois lésions, un champ de biais lisse (une lente
# variation de l'intensité) et du bruit. Un organe peut être aussi brillant qu'une lésion : aucun
# seuil sur l'intensité ne suffit à segmenter les lésions (le meilleur atteint un Dice d'environ
# 0,7). Une lésion est petite, arrondie et cerclée d'un liseré sombre : le réseau doit apprendre
# des formes et des voisinages, pas des intensités.

# %%
sample_images, sample_masks = phantoms(4, seed=SEED)
figure = show_overlays(sample_images, sample_masks)

# %% [markdown]
# ## Exercice 1 — le coefficient de Dice et la perte de Dice (5 points)
#
# Pour un lot de $N$ masques, `y_true` (des 0 et des 1) et `y_pred` (des probabilités dans [0, 1])
# de même forme, `(N, H, W)` ou `(N, H, W, 1)`, le coefficient de Dice **souple** (*soft Dice*) de
# l'exemple $i$ est une somme sur tous ses pixels $j$ (sur tous les axes sauf celui du lot) :
#
# $$D_i = \frac{2 \sum_j t_{ij}\, p_{ij} + s}{\sum_j t_{ij} + \sum_j p_{ij} + s}$$
#
# et `dice_coefficient` renvoie la **moyenne sur le lot** $\frac1N \sum_i D_i$ (un scalaire). Le
# terme de lissage $s$ (`smooth`, 1 par défaut) figure au numérateur **et** au dénominateur : deux masques
# vides concordent parfaitement ($D = 1$), et le rapport ne vaut jamais $0/0$.
#
# `dice_loss(y_true, y_pred)` $= 1 - $ `dice_coefficient(y_true, y_pred)` (avec $s = 1$). C'est la
# fonction de perte sur laquelle le U-Net s'entraîne : elle doit donc rester différentiable.
# Travaillez sur les probabilités, ne les seuillez jamais.
#
# Les deux fonctions commencent par `check_masks(y_true, y_pred, smooth)` (fournie), qui refuse les
# entrées invalides.


# %%
def check_masks(y_true, y_pred, smooth=1.0):
    """Lève ``ValueError`` sauf si les masques ont des formes compatibles, si y_true est binaire et si smooth >= 0.

    Dans ``model.fit``, les tenseurs n'ont pas encore de valeurs : les valeurs ne sont vérifiées que pour les tableaux NumPy.
    """
    if smooth < 0:
        raise ValueError(f"smooth doit être positif ou nul, et non {smooth}")
    true_shape, pred_shape = tuple(y_true.shape), tuple(y_pred.shape)
    compatible = len(true_shape) == len(pred_shape) and all(
        a is None or b is None or a == b for a, b in zip(true_shape, pred_shape)
    )
    if not compatible:
        raise ValueError(f"les formes de y_true ({true_shape}) et de y_pred ({pred_shape}) doivent concorder")
    if len(true_shape) < 2:
        raise ValueError(f"il faut un axe de lot et au moins un autre axe, et non la forme {true_shape}")
    if isinstance(y_true, np.ndarray) and not np.isin(y_true, (0, 1)).all():
        raise ValueError("y_true ne doit contenir que des 0 et des 1")


# %% nbgrader={"grade": false, "grade_id": "dice", "locked": false, "schema_version": 3, "solution": true, "task": false}
def dice_coefficient(y_true, y_pred, smooth=1.0):
    """Le coefficient de Dice souple, calculé pour chaque exemple sur tous les axes sauf celui du lot, puis moyenné sur le lot."""
    ### BEGIN SOLUTION
    check_masks(y_true, y_pred, smooth)
    y_true = keras.ops.cast(y_true, "float32")
    y_pred = keras.ops.cast(y_pred, "float32")
    axes = tuple(range(1, len(y_true.shape)))
    intersection = keras.ops.sum(y_true * y_pred, axis=axes)
    total = keras.ops.sum(y_true, axis=axes) + keras.ops.sum(y_pred, axis=axes)
    return keras.ops.mean((2.0 * intersection + smooth) / (total + smooth))
    ### END SOLUTION


def dice_loss(y_true, y_pred):
    """1 - le coefficient de Dice souple (smooth = 1) : une fonction de perte différentiable."""
    ### BEGIN SOLUTION
    return 1.0 - dice_coefficient(y_true, y_pred, smooth=1.0)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "dice_tests", "locked": true, "points": 5, "schema_version": 3, "solution": false, "task": false}
square = np.zeros((1, 8, 8, 1), dtype="float32")
square[0, 2:6, 2:6] = 1.0  # 16 pixels
shifted = np.roll(square, 2, axis=2)  # en recouvre 8
assert np.isclose(float(dice_coefficient(square, square)), 1.0), (
    "un masque concorde parfaitement avec lui-même"
)
assert np.isclose(float(dice_coefficient(square, shifted, smooth=0.0)), 0.5), (
    "16 et 16 pixels qui se recouvrent sur 8 : le Dice vaut 2 * 8 / 32"
)
empty = np.zeros_like(square)
assert np.isclose(float(dice_coefficient(empty, empty)), 1.0), "deux masques vides concordent parfaitement"
assert np.isclose(float(dice_loss(square, square)), 0.0, atol=1e-6), (
    "la perte de Dice d'une prédiction parfaite vaut 0"
)
print("dice_coefficient, dice_loss : tests visibles réussis")

# %% [markdown]
# ## Exercice 2 — l'IoU (indice de Jaccard) (3 points)
#
# L'intersection sur l'union, calculée pour chaque exemple avec le même lissage, puis moyennée sur
# le lot :
#
# $$J_i = \frac{\sum_j t_{ij}\, p_{ij} + s}{\sum_j t_{ij} + \sum_j p_{ij} - \sum_j t_{ij}\, p_{ij} + s}$$
#
# (l'union ne compte l'intersection qu'une fois : on la soustrait de la somme des deux). Sur des
# masques binaires, sans lissage, $J = D / (2 - D)$ : les deux métriques classent les prédictions
# dans le même ordre, mais l'IoU est plus sévère. `iou_score` commence elle aussi par
# `check_masks(y_true, y_pred, smooth)` (masques de formes différentes, `smooth` négatif :
# `ValueError`).


# %% nbgrader={"grade": false, "grade_id": "iou_score", "locked": false, "schema_version": 3, "solution": true, "task": false}
def iou_score(y_true, y_pred, smooth=1.0):
    """L'IoU souple, calculée pour chaque exemple sur tous les axes sauf celui du lot, puis moyennée sur le lot."""
    ### BEGIN SOLUTION
    check_masks(y_true, y_pred, smooth)
    y_true = keras.ops.cast(y_true, "float32")
    y_pred = keras.ops.cast(y_pred, "float32")
    axes = tuple(range(1, len(y_true.shape)))
    intersection = keras.ops.sum(y_true * y_pred, axis=axes)
    union = keras.ops.sum(y_true, axis=axes) + keras.ops.sum(y_pred, axis=axes) - intersection
    return keras.ops.mean((intersection + smooth) / (union + smooth))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "iou_score_tests", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
assert np.isclose(float(iou_score(square, shifted, smooth=0.0)), 8 / 24), (
    "16 et 16 pixels qui se recouvrent sur 8 : l'union en compte 24"
)
dice_value = float(dice_coefficient(square, shifted, smooth=0.0))
assert np.isclose(float(iou_score(square, shifted, smooth=0.0)), dice_value / (2 - dice_value)), (
    "sur des masques binaires sans lissage, IoU = D / (2 - D)"
)
print("iou_score : tests visibles réussis")

# %% [markdown]
# ## Exercice 3 — les blocs d'un U-Net (4 points)
#
# Un U-Net (Ronneberger et al., 2015) se compose d'un **encodeur**, qui divise la résolution par
# deux à chaque niveau tout en doublant le nombre de filtres, d'un **goulot d'étranglement**
# (*bottleneck*) et d'un **décodeur**, qui double à nouveau la résolution ; à chaque niveau, le
# décodeur **concatène** les cartes de caractéristiques de l'encodeur de même résolution (la
# connexion de saut, *skip connection*) : les détails fins perdus au sous-échantillonnage
# (*pooling*) reviennent pour tracer les contours. Écrivez trois blocs, qui prennent et renvoient
# chacun des tenseurs Keras de l'API fonctionnelle :
#
# * `conv_block(x, filters)` : deux `Conv2D(filters, 3, padding="same", activation="relu")`, l'une
#   après l'autre (avec leurs biais) ;
# * `encoder_block(x, filters) -> (skip, down)` : `skip = conv_block(x, filters)`, et `down`, qui
#   est `skip` sous-échantillonné d'un facteur 2 par maximum (`MaxPooling2D(2)`) ;
# * `decoder_block(x, skip, filters)` : suréchantillonnez `x` d'un facteur 2 vers `filters` canaux,
#   avec `Conv2DTranspose(filters, 2, strides=2)` (ou, tout aussi permis, `UpSampling2D(2)` suivie
#   de `Conv2D(filters, 2, padding="same")` : le même nombre de paramètres), concaténez le résultat
#   avec `skip` sur l'axe des canaux (`Concatenate()([up, skip])`), puis appliquez
#   `conv_block(·, filters)`.


# %% nbgrader={"grade": false, "grade_id": "unet_blocks", "locked": false, "schema_version": 3, "solution": true, "task": false}
def conv_block(x, filters):
    """Deux convolutions 3x3 « same », chacune suivie d'une ReLU."""
    ### BEGIN SOLUTION
    for _ in range(2):
        x = layers.Conv2D(filters, 3, padding="same", activation="relu")(x)
    return x
    ### END SOLUTION


def encoder_block(x, filters):
    """``(skip, down)`` : les caractéristiques du bloc à la résolution de l'entrée, et sous-échantillonnées d'un facteur 2 par maximum."""
    ### BEGIN SOLUTION
    skip = conv_block(x, filters)
    return skip, layers.MaxPooling2D(2)(skip)
    ### END SOLUTION


def decoder_block(x, skip, filters):
    """Suréchantillonne ``x`` d'un facteur 2, concatène ``skip``, puis applique un bloc de convolution."""
    ### BEGIN SOLUTION
    up = layers.Conv2DTranspose(filters, 2, strides=2)(x)
    return conv_block(layers.Concatenate()([up, skip]), filters)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "unet_blocks_tests", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
block_input = keras.Input((32, 32, 3))
block_skip, block_down = encoder_block(block_input, 8)
assert tuple(block_skip.shape) == (None, 32, 32, 8), (
    f"skip devrait être de forme (None, 32, 32, 8), et non {block_skip.shape}"
)
assert tuple(block_down.shape) == (None, 16, 16, 8), (
    f"down devrait être de forme (None, 16, 16, 8), et non {block_down.shape}"
)
block_up = decoder_block(block_down, block_skip, 8)
assert tuple(block_up.shape) == (None, 32, 32, 8), (
    f"le bloc décodeur devrait donner une forme (None, 32, 32, 8), et non {block_up.shape}"
)
block_model = keras.Model(block_input, block_up)
assert any(isinstance(layer, layers.Concatenate) for layer in block_model.layers), (
    "le bloc décodeur concatène skip, la connexion de saut"
)
print("blocs du U-Net : tests visibles réussis")

# %% [markdown]
# ## Exercice 4 — `build_unet` (4 points)
#
# `build_unet(input_shape=(128, 128, 1), n_classes=1, base_filters=16, depth=4)` :
#
# * `depth` blocs encodeurs avec `base_filters`, `2 * base_filters`, ... `2**(depth-1) * base_filters`
#   filtres, chacun conservant son `skip` ;
# * un `conv_block` de goulot d'étranglement avec `2**depth * base_filters` filtres ;
# * `depth` blocs décodeurs, du niveau le plus profond vers le haut, chacun avec le `skip` de son
#   propre niveau (de même résolution) et le nombre de filtres de ce niveau ;
# * une `Conv2D(n_classes, 1)` finale avec une **sigmoïde** pour une seule classe (une probabilité
#   par pixel), ou un **softmax** sur les classes sinon.
#
# Refusez (`ValueError`) une forme d'entrée qui n'est pas `(height, width, channels)`, ou dont la
# hauteur ou la largeur ne peut pas être divisée par deux `depth` fois.


# %% nbgrader={"grade": false, "grade_id": "build_unet", "locked": false, "schema_version": 3, "solution": true, "task": false}
def build_unet(input_shape=(128, 128, 1), n_classes=1, base_filters=16, depth=4):
    """Un U-Net de ``depth`` niveaux (non compilé)."""
    ### BEGIN SOLUTION
    if len(input_shape) != 3:
        raise ValueError(f"input_shape devrait être (hauteur, largeur, canaux), et non {input_shape}")
    if any(side % 2**depth for side in input_shape[:2]):
        raise ValueError(
            f"la hauteur et la largeur doivent être des multiples de 2**depth = {2**depth}, et non {input_shape[:2]}"
        )
    inputs = keras.Input(input_shape)
    x, skips = inputs, []
    for level in range(depth):
        skip, x = encoder_block(x, base_filters * 2**level)
        skips.append(skip)
    x = conv_block(x, base_filters * 2**depth)
    for level in reversed(range(depth)):
        x = decoder_block(x, skips[level], base_filters * 2**level)
    activation = "sigmoid" if n_classes == 1 else "softmax"
    outputs = layers.Conv2D(n_classes, 1, activation=activation)(x)
    return keras.Model(inputs, outputs, name="unet")
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "build_unet_tests", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
unet = build_unet()
assert unet.output_shape == (None, 128, 128, 1), (
    f"le U-Net devrait produire une sortie de forme (None, 128, 128, 1), et non {unet.output_shape}"
)
print(f"U-Net : {unet.count_params():,} paramètres")
concatenations = [layer for layer in unet.layers if isinstance(layer, layers.Concatenate)]
assert len(concatenations) == 4, (
    f"un U-Net de profondeur 4 a 4 connexions de saut, et non {len(concatenations)}"
)
assert build_unet((64, 64, 3), n_classes=3, depth=2).output_shape == (None, 64, 64, 3)
print("build_unet : tests visibles réussis")

# %% [markdown]
# ## Entraînement du U-Net
#
# Cette cellule est ignorée lors de la notation de votre notebook (elle est marquée
# `skip-grading`) : exécutez-la avec le budget complet avant de rendre votre travail. La fonction
# de perte est l'entropie croisée binaire **plus** votre perte de Dice : l'entropie croisée donne
# des gradients utiles dès le premier pas, et la perte de Dice empêche le fond (98 % des pixels) de
# noyer les lésions. La cellule enregistre le réseau entraîné dans `unet.keras` (ses poids, sans
# l'état de l'optimiseur).
#
# Ce qu'elle coûte sur 2 cœurs libres (banc d'essai du cours lui-même, sur la solution de
# référence ; votre architecture est chronométrée en temps CPU, que les autres programmes qui
# tournent à côté ne modifient pas) : le U-Net de référence (`base_filters=8`, profondeur 3) compte
# 485 673 paramètres et s'entraîne 10 époques sur 1 600 fantômes en 3,3 min environ (20 s par
# époque). La cellule chronomètre d'abord quelques pas de votre architecture et vous avertit si
# elle dépasse ce qui est prévu : au plus 2 000 000 paramètres et 60 s par époque. L'entraînement
# indique ensuite, après chaque époque, le temps restant, et conserve dans `unet.keras` le meilleur
# réseau obtenu jusque-là : une exécution interrompue en laisse toujours un à rendre.

# %% tags=["skip-grading"]
import time

UNET_FILE = "unet.keras"
UNET_FILTERS = 8  # la moitié de la valeur par défaut : 4 fois moins d'opérations, et assez pour ces fantômes
n_train = BUDGET.pick(full=1600, ci=32)
x_train, y_train = phantoms(n_train, seed=SEED)
x_val, y_val = phantoms(BUDGET.pick(full=200, ci=16), seed=SEED + 1)


def segmentation_loss(y_true, y_pred):
    """L'entropie croisée binaire plus la perte de Dice."""
    return keras.ops.mean(keras.losses.binary_crossentropy(y_true, y_pred)) + dice_loss(y_true, y_pred)


keras.utils.set_random_seed(SEED)
model = build_unet(base_filters=UNET_FILTERS)
model.compile(
    optimizer=keras.optimizers.Adam(2e-3), loss=segmentation_loss, metrics=[dice_coefficient, iou_score]
)
UNET_EPOCHS, UNET_BATCH = BUDGET.pick(full=10, ci=1), 16
print(
    costs.preflight(
        model,
        x_train,
        y_train,
        epochs=UNET_EPOCHS,
        batch_size=UNET_BATCH,
        limit=costs.Limit(parameters=2_000_000, epoch_s=60),
    )
)
started = time.perf_counter()
unet_history = model.fit(
    x_train,
    y_train,
    validation_data=(x_val, y_val),
    batch_size=UNET_BATCH,
    epochs=UNET_EPOCHS,
    verbose=2,
    callbacks=costs.callbacks(UNET_FILE, BUDGET),
)
unet_seconds = time.perf_counter() - started
print(
    f"entraîné en {unet_seconds:.0f} s ; {UNET_FILE} contient le réseau de l'époque de plus faible perte de validation"
)

# %% [markdown]
# ## Le U-Net sur des fantômes inédits (4 points)
#
# Des fantômes d'une graine que le réseau n'a jamais vue, et ses prédictions seuillées à 0,5 : les
# contours des prédictions (en rouge) face aux vrais masques (en vert). Les tests cachés font de
# même sur 512 nouveaux fantômes du même générateur, issus d'une graine tirée au moment de la
# notation : le Dice moyen des prédictions seuillées doit atteindre **0,9**. Les fantômes étant
# aléatoires, le test n'échoue que lorsqu'ils montrent que le Dice moyen de votre U-Net est
# inférieur à 0,9 : un U-Net exactement à 0,9 échoue au plus une fois sur dix mille notations,
# un U-Net inférieur de 0,13 réussit au plus une fois sur mille.

# %% nbgrader={"grade": true, "grade_id": "unet_model_tests", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false} tags=["skip-grading"]
x_fresh, y_fresh = phantoms(100, seed=2026)
saved_unet = keras.saving.load_model(UNET_FILE)
fresh_predictions = saved_unet.predict(x_fresh, verbose=0)
fresh_dice = float(dice_coefficient(y_fresh, (fresh_predictions >= 0.5).astype("float32")))
fresh_iou = float(iou_score(y_fresh, (fresh_predictions >= 0.5).astype("float32")))
print(f"fantômes inédits : Dice {fresh_dice:.4f}, IoU {fresh_iou:.4f}")
figure = show_overlays(x_fresh, y_fresh, fresh_predictions, count=4)
figure.savefig("unet_overlays.png", dpi=80)
costs.require(
    fresh_dice >= 0.90, f"le U-Net atteint un Dice de {fresh_dice:.4f} sur des fantômes inédits", BUDGET
)

# %% [markdown]
# ## Exercice 5 — un CNN 3D pour les volumes (3 points)
#
# `volumes(n, size=32, seed=0)` renvoie `n` volumes `(n, 32, 32, 32, 1)`, leurs étiquettes (0 : une
# lésion sphérique, 1 : une lésion tubulaire, comme un vaisseau) et les masques des lésions, voxel
# par voxel. Coupé perpendiculairement à son axe, un tube ressemble à un disque, exactement comme
# une sphère : une seule coupe ne permet pas de les distinguer, la troisième dimension le permet.
#
# `build_conv3d_net(input_shape=(32, 32, 32, 1), n_classes=2)` renvoie un modèle (non compilé) qui
# associe à chaque volume `n_classes` probabilités (un *softmax*), construit à partir de couches
# `Conv3D` (avec des `MaxPooling3D` ou des pas, *strides*, pour réduire le volume, et une
# `GlobalAveragePooling3D` ou une `Flatten` avant la tête dense). Refusez (`ValueError`) une forme
# d'entrée qui n'est pas `(depth, height, width, channels)`.

# %%
sample_volumes, sample_labels, sample_volume_masks = volumes(4, seed=SEED)
print("étiquettes :", sample_labels)
figure = show_overlays(sample_volumes, sample_volume_masks)


# %% nbgrader={"grade": false, "grade_id": "build_conv3d_net", "locked": false, "schema_version": 3, "solution": true, "task": false}
def build_conv3d_net(input_shape=(32, 32, 32, 1), n_classes=2):
    """Un petit CNN 3D qui classe des volumes (non compilé)."""
    ### BEGIN SOLUTION
    if len(input_shape) != 4:
        raise ValueError(
            f"input_shape devrait être (profondeur, hauteur, largeur, canaux), et non {input_shape}"
        )
    inputs = keras.Input(input_shape)
    x = inputs
    for filters in (8, 16, 32):
        x = layers.Conv3D(filters, 3, padding="same", activation="relu")(x)
        x = layers.MaxPooling3D(2)(x)
    x = layers.GlobalAveragePooling3D()(x)
    x = layers.Dense(32, activation="relu")(x)
    outputs = layers.Dense(n_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="conv3d_net")
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "build_conv3d_net_tests", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
net3d = build_conv3d_net()
assert net3d.output_shape == (None, 2), (
    f"le réseau devrait produire une sortie de forme (None, 2), et non {net3d.output_shape}"
)
assert any(isinstance(layer, layers.Conv3D) for layer in net3d.layers), "utilisez des couches Conv3D"
probabilities = np.asarray(net3d(sample_volumes))
assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5), (
    "les sorties devraient être des probabilités (un softmax)"
)
print(f"CNN 3D : {net3d.count_params():,} paramètres ; tests visibles réussis")

# %% [markdown]
# ## Entraînement du CNN 3D
#
# Cette cellule est ignorée lors de la notation, comme celle qui entraîne le U-Net : exécutez-la
# avant de rendre votre travail. Elle enregistre `conv3d.keras`.
#
# Ce qu'elle coûte sur 2 cœurs libres (banc d'essai du cours lui-même, sur la solution de
# référence ; votre architecture est chronométrée en temps CPU, que les autres programmes qui
# tournent à côté ne modifient pas) : le réseau de référence compte 18 674 paramètres et s'entraîne
# 12 époques sur 3 000 volumes en 100 s environ (8 s par époque). Un volume compte 32 fois plus de
# voxels qu'une coupe ne compte de pixels : ce qui coûte, ce sont les convolutions sur le volume
# entier, pas les paramètres (une architecture de 17 618 paramètres sans sous-échantillonnage
# précoce a pris plus de 80 minutes ; un `MaxPooling3D` après la première convolution a ramené ce
# temps à 6 minutes). La cellule chronomètre d'abord quelques pas et vous avertit au-delà de ce qui est
# prévu : au plus 200 000 paramètres et 30 s par époque.

# %% tags=["skip-grading"]
CONV3D_FILE = "conv3d.keras"
v_train, l_train, _ = volumes(BUDGET.pick(full=3000, ci=64), seed=SEED)
v_val, l_val, _ = volumes(BUDGET.pick(full=200, ci=16), seed=SEED + 1)
keras.utils.set_random_seed(SEED)
net3d = build_conv3d_net()
net3d.compile(
    optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy", metrics=["accuracy"]
)
CONV3D_EPOCHS, CONV3D_BATCH = BUDGET.pick(full=12, ci=1), 32
print(
    costs.preflight(
        net3d,
        v_train,
        l_train,
        epochs=CONV3D_EPOCHS,
        batch_size=CONV3D_BATCH,
        limit=costs.Limit(parameters=200_000, epoch_s=30),
    )
)
started = time.perf_counter()
conv3d_history = net3d.fit(
    v_train,
    l_train,
    validation_data=(v_val, l_val),
    batch_size=CONV3D_BATCH,
    epochs=CONV3D_EPOCHS,
    verbose=2,
    callbacks=costs.callbacks(CONV3D_FILE, BUDGET),
)
conv3d_seconds = time.perf_counter() - started
print(
    f"entraîné en {conv3d_seconds:.0f} s ; {CONV3D_FILE} contient le réseau de l'époque de plus faible perte de validation"
)

# %% [markdown]
# ## Le CNN 3D sur des volumes inédits (3 points)
#
# Les tests cachés classent de nouveaux volumes du même générateur, issus d'une graine tirée au
# moment de la notation : 200 volumes d'abord, puis deux fois plus à chaque nouvelle étape, jusqu'à
# 3 200 volumes, en s'arrêtant dès que ceux déjà vus suffisent à trancher si l'exactitude de votre
# CNN 3D atteint au moins **95 %**. Un réseau exactement à 95 % échoue au plus une fois sur dix
# mille notations ; un réseau inférieur de 3,5 points réussit au plus une fois sur mille.

# %% nbgrader={"grade": true, "grade_id": "conv3d_model_tests", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false} tags=["skip-grading"]
v_fresh, l_fresh, _ = volumes(400, seed=2026)
saved_net3d = keras.saving.load_model(CONV3D_FILE)
fresh_accuracy = float(np.mean(saved_net3d.predict(v_fresh, verbose=0).argmax(axis=1) == l_fresh))
print(f"volumes inédits : exactitude {fresh_accuracy:.4f}")
costs.require(
    fresh_accuracy >= 0.95, f"le CNN 3D classe correctement {fresh_accuracy:.2%} des volumes inédits", BUDGET
)

# %% [markdown]
# ## Résultats
#
# Les courbes d'apprentissage des deux réseaux (entraînement et validation).

# %% tags=["skip-grading"]
figure, axes = plt.subplots(1, 2, figsize=(11, 3.5))
axes[0].plot(unet_history.history["dice_coefficient"], label="entraînement")
axes[0].plot(unet_history.history["val_dice_coefficient"], label="validation")
axes[0].set(title="U-Net : Dice souple", xlabel="époque")
axes[1].plot(conv3d_history.history["accuracy"], label="entraînement")
axes[1].plot(conv3d_history.history["val_accuracy"], label="validation")
axes[1].set(title="CNN 3D : exactitude", xlabel="époque")
for axis in axes:
    axis.legend()
figure.tight_layout()
figure.savefig("learning_curves.png", dpi=80)
print(f"U-Net : Dice {fresh_dice:.4f} sur les fantômes inédits, {unet_seconds:.0f} s d'entraînement")
print(
    f"CNN 3D : exactitude {fresh_accuracy:.4f} sur les volumes inédits, {conv3d_seconds:.0f} s d'entraînement"
)
