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
# # TP3 — Réseaux convolutifs : un CNN pour CIFAR-10, des blocs résiduels, VGG16 et le transfert de style
#
# Place aux images en couleur. Vous construisez un réseau convolutif qui bat le résultat publié du
# cours sur CIFAR-10 (69,74 % du jeu de test), vous écrivez à la main le bloc résiduel de He et al.
# (2016) et en assemblez un ResNet-20, puis vous utilisez VGG16, un réseau entraîné sur ImageNet, comme
# extracteur de caractéristiques gelé : ses activations mesurent le *contenu* et le *style* d'une
# image, et optimiser les pixels d'une image par rapport à elles, c'est le transfert de style neuronal
# (Gatys et al., 2016).
#
# Complétez chaque cellule qui contient `YOUR CODE HERE` et exécutez les tests qui suivent chaque
# exercice. Règles :
#
# * les réseaux sont faits de couches Keras de l'API fonctionnelle (pas de couches `Lambda`) ;
# * les pertes utilisent `keras.ops` (ou les opérations sur les tenseurs du moteur, le *backend*), pour
#   que les gradients se propagent ;
# * une entrée incorrecte est refusée par une `ValueError` qui dit ce qui ne va pas.

# %%
import tpdl  # en premier : fait taire les messages de démarrage de TensorFlow

import time

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from keras import layers

from tpdl.course import budget, costs, data

BUDGET = budget.current()
SEED = 0
keras.utils.set_random_seed(SEED)
print(f"budget : {BUDGET.name}")

# %% [markdown]
# ## Les données
#
# CIFAR-10 : 50 000 images d'entraînement et 10 000 images de test de 32x32 pixels en couleur (uint8,
# 0-255), réparties en dix classes. `data.load_cifar10()` les lit dans le dossier désigné par
# `TPDL_DATA_DIR`, dans le cache de Keras, ou bien les télécharge une fois pour toutes.

# %%
cifar = data.load_cifar10()
print(
    f"{len(cifar.x_train):,} images d'entraînement et {len(cifar.x_test):,} images de test, "
    f"lues depuis {cifar.origin}"
)
figure, axes = plt.subplots(2, 8, figsize=(12, 3.4))
for axis, image, label in zip(axes.flat, cifar.x_train, cifar.y_train):
    axis.imshow(image)
    axis.set_title(data.CIFAR10_CLASSES[label], fontsize=9)
    axis.axis("off")
figure.tight_layout()

# %% [markdown]
# ## Exercice 1 — un CNN pour CIFAR-10 (3 points)
#
# `build_cnn(input_shape=(32, 32, 3), n_classes=10)` renvoie un modèle (non compilé) qui associe à
# des images en **valeurs de pixels brutes** (0-255, en float32) `n_classes` probabilités (un
# *softmax*). Il met lui-même les pixels à l'échelle (une couche `Rescaling(1 / 255)` en premier),
# de sorte que l'on puisse donner au modèle enregistré les images exactement telles que le jeu de
# données les stocke.
#
# L'architecture est libre. Votre modèle doit atteindre **69,74 %** sur le jeu de test, et
# l'entraînement ci-dessous doit tenir en une **demi-heure environ sur deux cœurs de CPU** : raisonnez
# en exactitude par minute de CPU. Ce qui est payant sur CIFAR-10 : des empilements de convolutions 3x3,
# une `BatchNormalization` après chacune (un entraînement plus rapide et plus stable), le doublement
# du nombre de filtres chaque fois que la résolution est divisée par deux, et un
# `GlobalAveragePooling2D` au lieu d'une grande couche dense sur les cartes aplaties. Ce sont les
# convolutions sur de nombreux canaux à pleine résolution qui prennent le plus de temps.
#
# Refusez (`ValueError`) une forme d'entrée qui n'est pas `(height, width, channels)`.


# %% nbgrader={"grade": false, "grade_id": "build_cnn", "locked": false, "schema_version": 3, "solution": true, "task": false}
def build_cnn(input_shape=(32, 32, 3), n_classes=10):
    """Un classifieur convolutif d'images données en pixels bruts (non compilé)."""
    ### BEGIN SOLUTION
    if len(input_shape) != 3:
        raise ValueError(
            f"input_shape doit être de la forme (hauteur, largeur, canaux), et non {input_shape}"
        )
    inputs = keras.Input(input_shape)
    x = layers.Rescaling(1 / 255)(inputs)
    for filters in (32, 64, 128, 256):
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization()(x)
        x = layers.ReLU()(x)
        x = layers.MaxPooling2D(2)(x)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(n_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="cifar10_cnn")
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "build_cnn_tests", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
cnn = build_cnn()
assert cnn.output_shape == (None, 10), (
    f"le CNN doit produire une sortie (None, 10), et non {cnn.output_shape}"
)
assert any(isinstance(layer, layers.Conv2D) for layer in cnn.layers), "utilisez des couches Conv2D"
probabilities = np.asarray(cnn(cifar.x_train[:4].astype("float32")))
assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5), "les sorties doivent être des probabilités"
print(f"CNN : {cnn.count_params():,} paramètres ; tests visibles réussis")

# %% [markdown]
# ## Entraînement du CNN
#
# Cette cellule est ignorée lors de la notation de votre notebook (elle est marquée `skip-grading`) :
# exécutez-la avec le budget complet avant de rendre votre travail. Deux choix font gagner de
# l'exactitude à peu de frais :
#
# * l'**augmentation de données** par des couches de prétraitement de Keras : à chaque époque, chaque
#   image est retournée horizontalement ou non, et décalée d'au plus 10 % (3 pixels). Ces couches
#   n'agissent que pendant l'entraînement, et elles restent en dehors du modèle enregistré ;
# * une **planification du taux d'apprentissage** (*schedule*) : une courte phase d'échauffement
#   (*warm-up*), puis une décroissance en cosinus jusqu'à presque zéro, qui laisse les dernières
#   époques se stabiliser dans un bon minimum.
#
# Le jeu de test est évalué après chaque époque pour enregistrer la courbe d'apprentissage ; rien
# n'est choisi d'après lui (pas d'arrêt anticipé : la planification fixe le nombre d'époques). La
# cellule enregistre le réseau, sans l'augmentation ni l'état de l'optimiseur, sous le nom
# `cifar10_cnn.keras`, après chaque époque : si l'entraînement est interrompu, le dernier réseau
# enregistré reste disponible.
#
# Ce que cela coûte sur 2 cœurs libres (mesuré par le banc d'essai du cours sur la solution de
# référence ; votre architecture est chronométrée en temps CPU, que les autres programmes qui tournent
# à côté ne modifient pas) :
# le CNN de référence (392 426 paramètres) s'entraîne 20 époques sur 50 000
# images en 17 min environ (51 s par époque) et atteint 83 %. La cellule chronomètre d'abord quelques
# pas de votre architecture et vous avertit si elle dépasse ce qui est prévu : au plus
# 2 000 000 paramètres et 120 s par époque.

# %% tags=["skip-grading"]
CNN_FILE = "cifar10_cnn.keras"
EPOCHS = BUDGET.pick(full=20, ci=1)
BATCH = 128
x_train, y_train = BUDGET.subset(cifar.x_train, cifar.y_train, ci=2000)
x_test, y_test = BUDGET.subset(cifar.x_test, cifar.y_test, ci=500)

keras.utils.set_random_seed(SEED)
cnn = build_cnn()
augmentation = keras.Sequential(
    [layers.RandomFlip("horizontal"), layers.RandomTranslation(0.1, 0.1, fill_mode="reflect")],
    name="augmentation",
)
trainer = keras.Sequential([keras.Input((32, 32, 3)), augmentation, cnn])
steps = EPOCHS * int(np.ceil(len(x_train) / BATCH))
schedule = keras.optimizers.schedules.CosineDecay(
    0.0, decay_steps=steps - steps // 10, alpha=0.01, warmup_target=3e-3, warmup_steps=steps // 10
)
trainer.compile(
    optimizer=keras.optimizers.Adam(schedule), loss="sparse_categorical_crossentropy", metrics=["accuracy"]
)
print(
    costs.preflight(
        trainer,
        x_train.astype("float32"),
        y_train,
        epochs=EPOCHS,
        batch_size=BATCH,
        limit=costs.Limit(parameters=2_000_000, epoch_s=120),
    )
)


class EpochTimer(keras.callbacks.Callback):
    """Les secondes écoulées depuis le début de l'entraînement, à la fin de chaque époque."""

    def on_train_begin(self, logs=None):
        self.started, self.seconds = time.perf_counter(), []

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self.started)


timer = EpochTimer()
history = trainer.fit(
    x_train.astype("float32"),
    y_train,
    batch_size=BATCH,
    epochs=EPOCHS,
    validation_data=(x_test.astype("float32"), y_test),
    callbacks=[timer, *costs.callbacks(CNN_FILE, BUDGET, monitor=None, model=cnn)],
    verbose=2,
)
cnn_seconds = timer.seconds[-1]
print(f"entraînement de {EPOCHS} époques en {cnn_seconds:.0f} s")

# %% [markdown]
# ## Le CNN sur le jeu de test (4 points)
#
# Les tests cachés chargent `cifar10_cnn.keras` et classent des images de test (données en pixels
# bruts, 0-255), tirées au hasard, autant qu'il en faut pour établir si au moins **69,74 %** des
# 10 000 sont bien classées, le résultat publié du cours : quelques centaines pour un modèle qui en
# est loin, toutes pour un modèle qui en est proche (le verdict est celui du jeu de test entier, sauf
# une fois sur dix mille notations au plus). Ils classent aussi de nouvelles images tirées au moment
# de la notation : des images d'entraînement choisies au hasard (avec remise), retournées en miroir et
# décalées d'au plus un pixel, de 500 à 8 000 selon le besoin. Ces tests ne font échouer votre
# modèle que sur de fortes preuves qu'il fait moins de 60 % sur ces images, ou plus de 10 points de
# moins que sur le jeu de test : un modèle entraîné sur le jeu d'entraînement fait d'ordinaire mieux
# sur elles que sur le jeu de test (il a vu leurs originaux) ; un modèle qui se contente de retrouver
# les images de test fait bien pire. Un modèle exactement à l'un ou l'autre seuil échoue au plus une
# fois sur dix mille notations ; un modèle 4,5 points en dessous réussit au plus une fois sur mille.

# %% nbgrader={"grade": true, "grade_id": "cnn_model_tests", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false} tags=["skip-grading"]
saved_cnn = keras.saving.load_model(CNN_FILE)
predictions = saved_cnn.predict(cifar.x_test.astype("float32"), batch_size=500, verbose=0)
test_accuracy = float(np.mean(predictions.argmax(axis=1) == cifar.y_test))
print(f"exactitude sur le test : {test_accuracy:.4f} sur {len(cifar.x_test):,} images")
costs.require(
    test_accuracy >= 0.6974, f"le CNN classe correctement {test_accuracy:.2%} du jeu de test", BUDGET
)

# %% tags=["skip-grading"]
figure, axes = plt.subplots(1, 2, figsize=(11, 3.5))
minutes = np.asarray(timer.seconds) / 60
axes[0].plot(minutes, history.history["accuracy"], marker="o", label="entraînement (avec augmentation)")
axes[0].plot(minutes, history.history["val_accuracy"], marker="o", label="test")
axes[0].axhline(0.6974, color="grey", linestyle="--", label="le cours : 69,74 %")
axes[0].set(title="CNN CIFAR-10 : exactitude par minute de CPU", xlabel="minutes d'entraînement")
axes[1].plot(history.history["loss"], label="entraînement")
axes[1].plot(history.history["val_loss"], label="test")
axes[1].set(title="perte", xlabel="époque")
for axis in axes:
    axis.legend()
figure.tight_layout()
figure.savefig("cnn_curve.png", dpi=80)
for epoch, (seconds, accuracy) in enumerate(zip(timer.seconds, history.history["val_accuracy"]), 1):
    print(f"époque {epoch:2d} : {seconds:6.0f} s, exactitude sur le test {accuracy:.4f}")
print(
    f"CNN : exactitude sur le test {test_accuracy:.4f} après {EPOCHS} époques, "
    f"{cnn_seconds:.0f} s d'entraînement"
)

# %% [markdown]
# ## Exercice 2 — le bloc résiduel (5 points)
#
# Les réseaux profonds ordinaires (*plain networks*) s'entraînent moins bien que les réseaux peu
# profonds : le gradient doit traverser toutes les couches. Un **bloc résiduel** apprend une
# correction $F(x)$ *ajoutée* à son entrée, si bien que l'identité est le comportement par défaut,
# facile à obtenir, et que les gradients passent par les additions. Le bloc à post-activation de
# He et al. (2016) :
#
# $$y = \mathrm{ReLU}\big(\,\mathrm{BN}(\mathrm{conv}_{3\times3}(\mathrm{ReLU}(\mathrm{BN}(\mathrm{conv}_{3\times3}^{\,s}(x)))))
#       \;+\; \mathrm{shortcut}(x)\,\big)$$
#
# * la première convolution 3x3 a `strides=stride` ($s$), la seconde un pas de 1, toutes deux
#   `padding="same"` et **sans biais** (`use_bias=False` : la normalisation par lots qui suit a son
#   propre décalage) ;
# * `shortcut(x) = x` (l'**identité**) quand les formes concordent déjà : `stride == 1` et `x` a
#   `filters` canaux ;
# * sinon une **projection** : `Conv2D(filters, 1, strides=stride, use_bias=False)` suivie de
#   `BatchNormalization()` ;
# * la somme (`layers.Add()`) passe par une ReLU : c'est la **dernière** opération du bloc.
#
# `residual_block(x, filters, stride=1)` prend et renvoie des tenseurs Keras (`(batch, height, width,
# channels)`). Refusez (`ValueError`) un tenseur d'un autre rang, ou un pas autre que 1 ou 2.


# %% nbgrader={"grade": false, "grade_id": "residual_block", "locked": false, "schema_version": 3, "solution": true, "task": false}
def residual_block(x, filters, stride=1):
    """Le bloc résiduel à post-activation : connexion résiduelle identité, ou projection 1x1 + BN."""
    ### BEGIN SOLUTION
    if len(x.shape) != 4:
        raise ValueError(
            f"x doit être un lot de cartes de caractéristiques (batch, hauteur, largeur, canaux), "
            f"et non {x.shape}"
        )
    if stride not in (1, 2):
        raise ValueError(f"stride doit valoir 1 ou 2, et non {stride}")
    y = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False)(x)
    y = layers.BatchNormalization()(y)
    y = layers.ReLU()(y)
    y = layers.Conv2D(filters, 3, padding="same", use_bias=False)(y)
    y = layers.BatchNormalization()(y)
    shortcut = x
    if stride != 1 or x.shape[-1] != filters:
        shortcut = layers.Conv2D(filters, 1, strides=stride, use_bias=False)(x)
        shortcut = layers.BatchNormalization()(shortcut)
    return layers.ReLU()(layers.Add()([y, shortcut]))
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "residual_block_tests", "locked": true, "points": 5, "schema_version": 3, "solution": false, "task": false}
block_input = keras.Input((16, 16, 8))
same = keras.Model(block_input, residual_block(block_input, 8))
assert same.output_shape == (None, 16, 16, 8), (
    f"le bloc doit conserver la forme (None, 16, 16, 8), et non {same.output_shape}"
)
assert same.count_params() == 2 * (3 * 3 * 8 * 8) + 2 * 4 * 8, (
    f"un bloc identité de 8 filtres sur 8 canaux compte {2 * 576 + 64} paramètres, "
    f"et non {same.count_params()}"
)
down = keras.Model(block_input, residual_block(block_input, 16, stride=2))
assert down.output_shape == (None, 8, 8, 16), (
    f"un pas de 2 et 16 filtres donnent (None, 8, 8, 16), et non {down.output_shape}"
)
assert any(isinstance(layer, layers.Add) for layer in down.layers), "le bloc ajoute sa connexion résiduelle"
print("residual_block : tests visibles réussis")

# %% [markdown]
# ## Exercice 3 — ResNet-20 (4 points)
#
# `build_resnet(input_shape=(32, 32, 3), n_classes=10, blocks_per_stage=3, base_filters=16)` :
#
# * un bloc d'entrée (*stem*) : `Rescaling(1 / 255)`, puis
#   `Conv2D(base_filters, 3, padding="same", use_bias=False)`, `BatchNormalization`, ReLU ;
# * trois **étages** de `blocks_per_stage` blocs résiduels, avec `base_filters`, `2 * base_filters`
#   et `4 * base_filters` filtres ; le premier bloc du deuxième et du troisième étage a un pas de 2
#   (il divise la résolution par deux : 32 → 16 → 8), tous les autres blocs un pas de 1 ;
# * `GlobalAveragePooling2D`, puis `Dense(n_classes, activation="softmax")`.
#
# Avec les valeurs par défaut, c'est ResNet-20 : 1 + 3 × 3 × 2 = 19 convolutions sur le chemin
# principal, plus la couche dense. Ses paramètres, comptés par `count_params()` (y compris les
# statistiques mobiles des normalisations par lots) : bloc d'entrée 432 + 64 ; étage 1 : 3 × 4 736 ;
# étage 2 : 14 720 + 2 × 18 688 (le premier bloc a une projection) ; étage 3 : 58 112 + 2 × 74 240 ;
# couche dense 650 — **274 042** au total.
# Refusez (`ValueError`) une forme d'entrée qui n'est pas `(height, width, channels)` ou dont la
# hauteur ou la largeur n'est pas un multiple de 4 (on ne pourrait pas la diviser exactement deux
# fois par deux).


# %% nbgrader={"grade": false, "grade_id": "build_resnet", "locked": false, "schema_version": 3, "solution": true, "task": false}
def build_resnet(input_shape=(32, 32, 3), n_classes=10, blocks_per_stage=3, base_filters=16):
    """Un ResNet pour CIFAR : bloc d'entrée, trois étages de blocs résiduels, *pooling* global, softmax."""
    ### BEGIN SOLUTION
    if len(input_shape) != 3:
        raise ValueError(
            f"input_shape doit être de la forme (hauteur, largeur, canaux), et non {input_shape}"
        )
    if any(side % 4 for side in input_shape[:2]):
        raise ValueError(
            f"la hauteur et la largeur doivent être des multiples de 4 (divisées deux fois par deux), "
            f"et non {input_shape[:2]}"
        )
    inputs = keras.Input(input_shape)
    x = layers.Rescaling(1 / 255)(inputs)
    x = layers.Conv2D(base_filters, 3, padding="same", use_bias=False)(x)
    x = layers.ReLU()(layers.BatchNormalization()(x))
    for stage in range(3):
        for block in range(blocks_per_stage):
            stride = 2 if stage > 0 and block == 0 else 1
            x = residual_block(x, base_filters * 2**stage, stride)
    x = layers.GlobalAveragePooling2D()(x)
    outputs = layers.Dense(n_classes, activation="softmax")(x)
    return keras.Model(inputs, outputs, name="resnet")
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "build_resnet_tests", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
resnet = build_resnet()
assert resnet.output_shape == (None, 10), (
    f"le ResNet doit produire une sortie (None, 10), et non {resnet.output_shape}"
)
assert resnet.count_params() == 274_042, (
    f"ResNet-20 compte 274 042 paramètres, et non {resnet.count_params():,}"
)
additions = [layer for layer in resnet.layers if isinstance(layer, layers.Add)]
assert len(additions) == 9, f"ResNet-20 a 9 blocs résiduels, donc 9 additions, et non {len(additions)}"
print(f"ResNet-20 : {resnet.count_params():,} paramètres ; tests visibles réussis")

# %% [markdown]
# ## VGG16 comme extracteur de caractéristiques
#
# VGG16 (Simonyan et Zisserman, 2014) compte 13 convolutions réparties en cinq blocs (`block1_conv1` ...
# `block5_conv3`), chaque bloc se terminant par un sous-échantillonnage par maximum (*max-pooling*).
# Comme il est entraîné sur ImageNet, ses premières couches réagissent aux couleurs et aux textures,
# ses couches profondes à des parties d'objets et à des objets. Le transfert de style l'utilise
# **gelé** : seule l'image est optimisée, jamais le réseau.
#
# Keras télécharge les poids ImageNet (58 Mo) à la première utilisation. Hors ligne,
# `data.vgg16_weights()` le signale et renvoie `None` (des poids aléatoires : tout ce qui suit
# s'exécute de la même façon, et les tests n'ont besoin que de cela, mais les images ne veulent rien
# dire), ou le fichier désigné par `TPDL_VGG16_WEIGHTS`.

# %%
VGG_WEIGHTS, why = data.vgg16_weights(download=BUDGET.is_full)
print(why)
STYLE_LAYERS = ["block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1"]
CONTENT_LAYER = "block4_conv2"

# %% [markdown]
# ## Exercice 4 — l'extracteur de caractéristiques (3 points)
#
# `build_feature_extractor(style_layers, content_layer, weights="imagenet")` construit
# `keras.applications.VGG16(include_top=False, weights=weights)` et renvoie un modèle qui va de
# son entrée à une **liste** de sorties : les activations de chacune des couches `style_layers`,
# dans l'ordre, puis l'activation de `content_layer` (`len(style_layers) + 1` sorties ; construit
# avec `keras.Model(vgg.input, outputs)`, il ne garde que les couches dont ces sorties ont
# besoin). Le modèle est **gelé** : aucun de ses poids n'est entraînable. Il prend des images
# telles que `keras.applications.vgg16.preprocess_input` les produit, de n'importe quelle taille. Refusez
# (`ValueError`) un nom de couche que VGG16 n'a pas, en précisant lequel.


# %% nbgrader={"grade": false, "grade_id": "build_feature_extractor", "locked": false, "schema_version": 3, "solution": true, "task": false}
def build_feature_extractor(style_layers, content_layer, weights="imagenet"):
    """Un VGG16 gelé qui renvoie [l'activation de chaque couche de style..., celle du contenu]."""
    ### BEGIN SOLUTION
    vgg = keras.applications.VGG16(include_top=False, weights=weights)
    names = [layer.name for layer in vgg.layers]
    unknown = [name for name in [*style_layers, content_layer] if name not in names]
    if unknown:
        raise ValueError(
            f"VGG16 n'a pas de couche {', '.join(unknown)} ; ses couches sont {', '.join(names[1:])}"
        )
    vgg.trainable = False
    outputs = [vgg.get_layer(name).output for name in [*style_layers, content_layer]]
    return keras.Model(vgg.input, outputs, name="vgg16_features")
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "build_feature_extractor_tests", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
extractor = build_feature_extractor(["block1_conv1", "block2_conv1"], "block2_conv2", weights=None)
features = extractor(np.zeros((1, 32, 32, 3), dtype="float32"))
assert len(features) == 3, (
    f"deux couches de style et une couche de contenu donnent 3 sorties, et non {len(features)}"
)
assert [tuple(f.shape) for f in features] == [(1, 32, 32, 64), (1, 16, 16, 128), (1, 16, 16, 128)]
assert not extractor.trainable_weights, "l'extracteur doit être gelé"
print("build_feature_extractor : tests visibles réussis")

# %% [markdown]
# ## Exercice 5 — la matrice de Gram (3 points)
#
# Le **style** d'une image, à une couche donnée, tient aux caractéristiques qui s'activent
# *ensemble*, où qu'elles se trouvent. Pour des activations $F$ de forme `(batch, H, W, C)`, la
# matrice de Gram de chaque image est la matrice `(C, C)` des produits scalaires des canaux sur les
# $H W$ positions, **divisés par le nombre de positions** :
#
# $$G_{cd} = \frac{1}{H W} \sum_{i=1}^{H} \sum_{j=1}^{W} F_{ijc}\, F_{ijd}$$
#
# `gram_matrix(features)` renvoie le lot de matrices de Gram, de forme `(batch, C, C)`. Refusez
# (`ValueError`) des caractéristiques qui ne sont pas de rang 4.


# %% nbgrader={"grade": false, "grade_id": "gram_matrix", "locked": false, "schema_version": 3, "solution": true, "task": false}
def gram_matrix(features):
    """Activations (batch, H, W, C) -> matrices de Gram (batch, C, C), normalisées par H * W."""
    ### BEGIN SOLUTION
    if len(features.shape) != 4:
        raise ValueError(f"features doit être de forme (batch, H, W, C), et non {tuple(features.shape)}")
    features = keras.ops.cast(features, "float32")
    positions = keras.ops.cast(keras.ops.shape(features)[1] * keras.ops.shape(features)[2], "float32")
    return keras.ops.einsum("bijc,bijd->bcd", features, features) / positions
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "gram_matrix_tests", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
ones = np.ones((2, 4, 5, 3), dtype="float32")
assert tuple(gram_matrix(ones).shape) == (2, 3, 3), "une matrice (C, C) par image"
assert np.allclose(gram_matrix(ones), 1.0), (
    "la matrice de Gram d'un tenseur de uns ne contient que des uns : la somme est divisée par H * W"
)
print("gram_matrix : tests visibles réussis")

# %% [markdown]
# ## Exercice 6 — les pertes du transfert de style (4 points)
#
# Pour une image générée $x$, une image de contenu $c$ et une image de style $s$, avec $F^\ell(\cdot)$ les
# activations de la couche $\ell$ (toutes de forme `(batch, H, W, C)`) :
#
# * **perte de contenu**, à la couche de contenu : l'écart quadratique moyen entre les activations,
#   $\;\mathcal{L}_c = \operatorname{mean}\big((F(x) - F(c))^2\big)$ ;
# * **perte de style**, sur les couches de style, avec des poids $w_\ell$ : la somme pondérée des
#   écarts quadratiques moyens entre les matrices de Gram,
#   $\;\mathcal{L}_s = \sum_\ell w_\ell \operatorname{mean}\big((G(F^\ell(x)) - G(F^\ell(s)))^2\big)$ ;
#   `layer_weights=None` signifie des poids égaux $w_\ell = 1 / L$ ;
# * **perte de variation totale** d'un lot d'images $x$ `(batch, H, W, C)`, qui rend les pixels
#   voisins semblables (contre le bruit haute fréquence) : l'écart quadratique moyen entre voisins
#   verticaux plus celui entre voisins horizontaux,
#   $\;\mathcal{L}_{tv} = \operatorname{mean}\big((x_{i+1,j} - x_{i,j})^2\big) + \operatorname{mean}\big((x_{i,j+1} - x_{i,j})^2\big)$.
#
# Chacune renvoie un scalaire. Refusez (`ValueError`) des activations de formes différentes
# (contenu), des listes de longueurs différentes ou un `layer_weights` de mauvaise longueur (style),
# une image qui n'est pas de rang 4 (variation totale).


# %% nbgrader={"grade": false, "grade_id": "style_losses", "locked": false, "schema_version": 3, "solution": true, "task": false}
def content_loss(content_features, generated_features):
    """L'écart quadratique moyen entre deux activations de même forme."""
    ### BEGIN SOLUTION
    if tuple(content_features.shape) != tuple(generated_features.shape):
        raise ValueError(
            f"des activations de formes {tuple(content_features.shape)} et "
            f"{tuple(generated_features.shape)} ne peuvent pas être comparées"
        )
    difference = keras.ops.cast(generated_features, "float32") - keras.ops.cast(content_features, "float32")
    return keras.ops.mean(keras.ops.square(difference))
    ### END SOLUTION


def style_loss(style_features, generated_features, layer_weights=None):
    """La somme pondérée, sur les couches, des écarts quadratiques moyens entre matrices de Gram."""
    ### BEGIN SOLUTION
    if len(style_features) != len(generated_features):
        raise ValueError(
            f"{len(style_features)} activations de style mais {len(generated_features)} activations générées"
        )
    if layer_weights is None:
        layer_weights = [1.0 / len(style_features)] * len(style_features)
    if len(layer_weights) != len(style_features):
        raise ValueError(f"{len(layer_weights)} poids de couche pour {len(style_features)} couches")
    total = 0.0
    for weight, style, generated in zip(layer_weights, style_features, generated_features):
        total += weight * keras.ops.mean(keras.ops.square(gram_matrix(generated) - gram_matrix(style)))
    return total
    ### END SOLUTION


def total_variation_loss(images):
    """L'écart quadratique moyen entre voisins verticaux plus celui entre voisins horizontaux."""
    ### BEGIN SOLUTION
    if len(images.shape) != 4:
        raise ValueError(f"images doit être de forme (batch, H, W, C), et non {tuple(images.shape)}")
    images = keras.ops.cast(images, "float32")
    vertical = keras.ops.mean(keras.ops.square(images[:, 1:, :, :] - images[:, :-1, :, :]))
    horizontal = keras.ops.mean(keras.ops.square(images[:, :, 1:, :] - images[:, :, :-1, :]))
    return vertical + horizontal
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "style_losses_tests", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
a = np.zeros((1, 4, 4, 2), dtype="float32")
b = np.full((1, 4, 4, 2), 3.0, dtype="float32")
assert np.isclose(float(content_loss(a, b)), 9.0), "la moyenne de (3 - 0)^2 vaut 9"
assert np.isclose(float(style_loss([a], [a])), 0.0), "des activations identiques ont une perte de style nulle"
stripes = np.zeros((1, 4, 4, 1), dtype="float32")
stripes[:, :, ::2] = 1.0  # les colonnes 0 et 2 valent 1
assert np.isclose(float(total_variation_loss(stripes)), 1.0), (
    "les voisins verticaux sont égaux (0) ; chaque paire horizontale diffère de 1 (moyenne 1)"
)
print("content_loss, style_loss, total_variation_loss : tests visibles réussis")

# %% [markdown]
# ## Exercice 7 — le transfert de style (3 points)
#
# `style_transfer(content_image, style_image, extractor, steps=100, learning_rate=5.0,
# content_weight=1.0, style_weight=1e-3, tv_weight=1e-2, style_layer_weights=None)` optimise
# les pixels d'une image, en partant de l'image de contenu, pour faire baisser
#
# $$\mathcal{L} = \alpha\, \mathcal{L}_c + \beta\, \mathcal{L}_s + \gamma\, \mathcal{L}_{tv}$$
#
# ($\alpha$ `content_weight`, $\beta$ `style_weight`, $\gamma$ `tv_weight`), avec les activations de
# `extractor` (un modèle de l'exercice 4 : sa dernière sortie est la couche de contenu). Les images
# sont des tableaux `(height, width, 3)` de valeurs RVB dans [0, 255] ; chacune passe par
# `keras.applications.vgg16.preprocess_input` avant l'extracteur. Les activations de contenu et de
# style sont calculées une seule fois ; à chaque itération, le gradient de $\mathcal{L}$ par rapport
# à l'image (une `tf.Variable`, sous un `tf.GradientTape`) alimente un pas d'Adam de taux
# d'apprentissage `learning_rate`, puis les pixels sont ramenés dans [0, 255] par écrêtage.
#
# Renvoyez `(image, losses)` : l'image finale (float32, de la forme de l'image de contenu) et la
# liste des `steps` valeurs de $\mathcal{L}$, une par itération, chacune calculée avant la mise à
# jour de cette itération. Refusez (`ValueError`) une image de contenu ou de style qui n'est pas
# `(height, width, 3)` ou qui mesure moins de 32 pixels de côté.


# %% nbgrader={"grade": false, "grade_id": "style_transfer", "locked": false, "schema_version": 3, "solution": true, "task": false}
def style_transfer(
    content_image,
    style_image,
    extractor,
    steps=100,
    learning_rate=5.0,
    content_weight=1.0,
    style_weight=1e-3,
    tv_weight=1e-2,
    style_layer_weights=None,
):
    """Optimise une image (partant du contenu) pour le contenu, le style et la régularité : (image, losses)."""
    ### BEGIN SOLUTION
    for name, picture in (("content_image", content_image), ("style_image", style_image)):
        shape = np.shape(picture)
        if len(shape) != 3 or shape[2] != 3:
            raise ValueError(f"{name} doit être une image RVB (hauteur, largeur, 3), et non de forme {shape}")
        if min(shape[:2]) < 32:
            raise ValueError(
                f"{name} mesure {shape[0]}x{shape[1]} : VGG16 demande au moins 32 pixels de côté"
            )

    def activations(batch):  # preprocess_input modifie un tableau NumPy sur place : donnez-lui un tenseur
        batch = keras.ops.convert_to_tensor(batch, "float32")
        outputs = extractor(keras.applications.vgg16.preprocess_input(batch))
        return outputs[:-1], outputs[-1]

    content_batch = np.asarray(content_image, dtype="float32")[None]
    style_targets, _ = activations(np.asarray(style_image, dtype="float32")[None])
    _, content_target = activations(content_batch)
    image = tf.Variable(content_batch)
    optimizer = keras.optimizers.Adam(learning_rate)
    losses = []
    for _ in range(steps):
        with tf.GradientTape() as tape:
            style_now, content_now = activations(image)
            loss = (
                content_weight * content_loss(content_target, content_now)
                + style_weight * style_loss(style_targets, style_now, style_layer_weights)
                + tv_weight * total_variation_loss(image)
            )
        optimizer.apply_gradients([(tape.gradient(loss, image), image)])
        image.assign(tf.clip_by_value(image, 0.0, 255.0))
        losses.append(float(loss))
    return image.numpy()[0], losses
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "style_transfer_tests", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
small_extractor = build_feature_extractor(["block1_conv1", "block2_conv1"], "block2_conv2", weights=None)
rng = np.random.default_rng(SEED)
small_content = rng.uniform(0, 255, (32, 32, 3)).astype("float32")
small_style = rng.uniform(0, 255, (32, 32, 3)).astype("float32")
result, result_losses = style_transfer(small_content, small_style, small_extractor, steps=5)
assert result.shape == (32, 32, 3), (
    f"l'image doit garder la forme du contenu (32, 32, 3), et non {result.shape}"
)
assert len(result_losses) == 5, f"5 itérations donnent 5 pertes, et non {len(result_losses)}"
assert result_losses[-1] < result_losses[0], "l'optimisation doit faire baisser la perte"
print("style_transfer : tests visibles réussis")

# %% [markdown]
# ## Le transfert de style sur une image
#
# Une image de test de CIFAR-10, agrandie, prend le style d'un motif de vagues colorées. Avec des
# poids VGG16 aléatoires (hors ligne), le résultat montre seulement que l'optimisation fonctionne ;
# avec les poids ImageNet, il montre les couleurs et les traits du motif sur les formes de l'image.
# Essayez d'autres poids $\alpha, \beta, \gamma$ : le bon équilibre dépend du couple d'images.

# %% tags=["skip-grading"]
SIZE = BUDGET.pick(full=128, ci=64)
picture = keras.ops.convert_to_numpy(
    keras.ops.image.resize(cifar.x_test[7:8].astype("float32"), (SIZE, SIZE), interpolation="bicubic")
)[0].clip(0, 255)
rows, columns = np.mgrid[0:SIZE, 0:SIZE] / SIZE
waves = np.stack(
    [np.sin(12 * rows + 4 * np.sin(6 * columns)), np.sin(9 * columns), np.cos(7 * (rows + columns))], axis=-1
)
pattern = (127.5 * (1 + waves)).astype("float32")
extractor = build_feature_extractor(STYLE_LAYERS, CONTENT_LAYER, weights=VGG_WEIGHTS)
started = time.perf_counter()
stylised, transfer_losses = style_transfer(picture, pattern, extractor, steps=BUDGET.pick(full=150, ci=3))
transfer_seconds = time.perf_counter() - started
figure, axes = plt.subplots(1, 4, figsize=(14, 3.4))
for axis, shown, title in zip(
    axes[:3],
    (picture, pattern, stylised),
    ("contenu", "style", "résultat"),  # i18n
):
    axis.imshow(shown.astype("uint8"))
    axis.set_title(title)
    axis.axis("off")
axes[3].plot(transfer_losses)
axes[3].set(title="perte totale", xlabel="itération", yscale="log")
figure.tight_layout()
figure.savefig("style_transfer.png", dpi=80)
print(
    f"{len(transfer_losses)} itérations en {transfer_seconds:.0f} s ; "
    f"perte {transfer_losses[0]:.4g} -> {transfer_losses[-1]:.4g}"
)
