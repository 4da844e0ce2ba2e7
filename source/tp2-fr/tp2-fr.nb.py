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
# # TP2 — Optimisation et régularisation, à partir de zéro
#
# `keras.optimizers.Adam()` ou `keras.layers.Dropout(0.5)` tiennent en une ligne. Dans ce TP, vous
# écrivez ce qu'ils font, en NumPy, et vous le vérifiez face à Keras : trois optimiseurs (SGD avec
# *momentum* et Nesterov, RMSprop, Adam), le *dropout* (désactivation aléatoire de neurones), la
# pénalité L2 et la normalisation par lots (*batch normalization*), propagation avant et arrière.
# Vous les comparez ensuite sur MNIST dans une expérience suivie avec MLflow, et vous commentez ce
# que vous observez.
#
# Complétez chaque cellule marquée `YOUR CODE HERE` et exécutez les tests qui suivent chaque
# exercice. Vos fonctions doivent donner les mêmes nombres que Keras : les formules ci-dessous sont
# celles qu'utilise Keras.
#
# Règles valables pour tous les exercices :
#
# * n'utilisez que NumPy (Keras n'apparaît que dans les tests, pour comparer) ;
# * **ne modifiez jamais les tableaux, listes ou dictionnaires que vous recevez** : construisez-en
#   de nouveaux et renvoyez-les ;
# * refusez une entrée incorrecte en levant une `ValueError` qui dit ce qui ne va pas.

# %%
import tpdl  # en premier : fait taire les messages de démarrage de TensorFlow

import keras
import numpy as np

from tpdl.course import budget, data

BUDGET = budget.current()
SEED = 0
keras.utils.set_random_seed(SEED)
print(f"budget : {BUDGET.name}")

# %% [markdown]
# ## Le contrat d'un pas d'optimisation
#
# Un pas d'optimiseur reçoit les paramètres du modèle `params` (une liste de tableaux), leurs
# gradients `grads` (une liste de tableaux de mêmes formes), l'état de l'optimiseur `state` et ses
# hyperparamètres, et renvoie `(new_params, new_state)` :
#
# * `state` est un dictionnaire, **vide au premier pas** : votre fonction remplit un nouveau
#   dictionnaire avec ce qu'elle doit retenir (tableaux, listes de tableaux, nombres) et le
#   renvoie ; l'appelant le lui repasse au pas suivant ;
# * `new_params` est une nouvelle liste de nouveaux tableaux ; `params`, `grads` et `state` restent
#   inchangés.
#
# La fonction auxiliaire ci-dessous vérifie `params` et `grads` ; appelez-la en premier dans chacun
# de vos optimiseurs.


# %%
def check_params_and_grads(params, grads):
    """Lève ``ValueError`` si ``params`` et ``grads`` ne sont pas des listes de tableaux de formes correspondantes."""
    if len(params) != len(grads):
        raise ValueError(f"{len(params)} paramètres mais {len(grads)} gradients")
    for number, (param, grad) in enumerate(zip(params, grads)):
        if np.shape(param) != np.shape(grad):
            raise ValueError(
                f"le paramètre {number} a la forme {np.shape(param)} mais son gradient a la forme {np.shape(grad)}"
            )


# %% [markdown]
# ## Exercice 1 — `sgd_step` (4 points)
#
# Descente de gradient stochastique avec un taux d'apprentissage $\eta$ et un *momentum* (inertie)
# $\mu$, telle que la calcule `keras.optimizers.SGD(learning_rate, momentum, nesterov)`, pour chaque
# paramètre $\theta$ de gradient $g$ :
#
# * sans *momentum* ($\mu = 0$) : $\theta \leftarrow \theta - \eta\, g$ ;
# * avec *momentum*, on conserve une vitesse $v$ par paramètre (des zéros au premier pas) :
#   $v \leftarrow \mu\, v - \eta\, g$, puis $\theta \leftarrow \theta + v$ ;
# * avec le *momentum* de Nesterov, on garde le même $v$, mais le pas anticipe :
#   $\theta \leftarrow \theta + \mu\, v - \eta\, g$ (avec le **nouveau** $v$).


# %% nbgrader={"grade": false, "grade_id": "sgd_step", "locked": false, "schema_version": 3, "solution": true, "task": false}
def sgd_step(params, grads, state, lr, momentum=0.0, nesterov=False):
    """Un pas de SGD (avec, en option, un momentum classique ou de Nesterov). Renvoie ``(new_params, new_state)``."""
    ### BEGIN SOLUTION
    check_params_and_grads(params, grads)
    if momentum == 0.0:
        return [p - lr * g for p, g in zip(params, grads)], dict(state)
    velocities = state.get("velocities") or [np.zeros_like(p) for p in params]
    velocities = [momentum * v - lr * g for v, g in zip(velocities, grads)]
    if nesterov:
        new_params = [p + momentum * v - lr * g for p, v, g in zip(params, velocities, grads)]
    else:
        new_params = [p + v for p, v in zip(params, velocities)]
    return new_params, {"velocities": velocities}
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "sgd_step_tests", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
def keras_steps(optimizer, params, grads_per_step):
    """Les paramètres obtenus en appliquant ``grads_per_step`` avec un optimiseur Keras (pour comparer)."""
    variables = [keras.Variable(p.astype("float32")) for p in params]
    for grads in grads_per_step:
        optimizer.apply([keras.ops.convert_to_tensor(g.astype("float32")) for g in grads], variables)
    return [np.asarray(v) for v in variables]


def my_steps(step, params, grads_per_step, **hyper):
    state = {}
    for grads in grads_per_step:
        params, state = step(params, grads, state, **hyper)
    return params


demo_rng = np.random.default_rng(SEED)
demo_params = [demo_rng.normal(size=(3, 2)), demo_rng.normal(size=(2,))]
demo_grads = [[demo_rng.normal(size=p.shape) for p in demo_params] for _ in range(3)]
for momentum, nesterov in ((0.0, False), (0.9, False), (0.9, True)):
    mine = my_steps(sgd_step, demo_params, demo_grads, lr=0.1, momentum=momentum, nesterov=nesterov)
    theirs = keras_steps(
        keras.optimizers.SGD(0.1, momentum=momentum, nesterov=nesterov), demo_params, demo_grads
    )
    for a, b in zip(mine, theirs):
        assert np.allclose(a, b, atol=1e-5), (
            f"sgd_step diffère de Keras (momentum={momentum}, nesterov={nesterov})"
        )
print("sgd_step : tests visibles réussis")

# %% [markdown]
# ## Exercice 2 — `rmsprop_step` (3 points)
#
# RMSprop tient à jour une moyenne mobile $s$ du carré du gradient (des zéros au premier pas) et
# divise le pas par sa racine carrée, comme le fait `keras.optimizers.RMSprop(learning_rate, rho, epsilon)` :
#
# $$s \leftarrow \rho\, s + (1 - \rho)\, g^2, \qquad \theta \leftarrow \theta - \eta\, \frac{g}{\sqrt{s + \epsilon}}$$
#
# (dans Keras, $\epsilon$ se trouve **sous** la racine carrée).


# %% nbgrader={"grade": false, "grade_id": "rmsprop_step", "locked": false, "schema_version": 3, "solution": true, "task": false}
def rmsprop_step(params, grads, state, lr, rho=0.9, epsilon=1e-7):
    """Un pas de RMSprop. Renvoie ``(new_params, new_state)``."""
    ### BEGIN SOLUTION
    check_params_and_grads(params, grads)
    squares = state.get("squares") or [np.zeros_like(p) for p in params]
    squares = [rho * s + (1 - rho) * g**2 for s, g in zip(squares, grads)]
    new_params = [p - lr * g / np.sqrt(s + epsilon) for p, g, s in zip(params, grads, squares)]
    return new_params, {"squares": squares}
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "rmsprop_step_tests", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
mine = my_steps(rmsprop_step, demo_params, demo_grads, lr=0.01)
theirs = keras_steps(keras.optimizers.RMSprop(0.01), demo_params, demo_grads)
for a, b in zip(mine, theirs):
    assert np.allclose(a, b, atol=1e-5), "rmsprop_step diffère de keras.optimizers.RMSprop"
print("rmsprop_step : tests visibles réussis")

# %% [markdown]
# ## Exercice 3 — `adam_step` (4 points)
#
# Adam tient à jour un compteur de pas $t$ (0 avant le premier pas) et des moyennes mobiles du
# gradient $m$ et de son carré $v$ (des zéros au premier pas). L'optimiseur de Keras
# `Adam(learning_rate, beta_1, beta_2, epsilon)` intègre les corrections de biais au taux
# d'apprentissage :
#
# $$t \leftarrow t + 1, \quad m \leftarrow \beta_1 m + (1 - \beta_1)\, g, \quad
#   v \leftarrow \beta_2 v + (1 - \beta_2)\, g^2,$$
# $$\alpha = \eta\, \frac{\sqrt{1 - \beta_2^{\,t}}}{1 - \beta_1^{\,t}}, \qquad
#   \theta \leftarrow \theta - \alpha\, \frac{m}{\sqrt{v} + \epsilon}$$
#
# (ici, $\epsilon$ se trouve **hors** de la racine carrée : c'est l'« epsilon chapeau » de l'article
# qui présente Adam).


# %% nbgrader={"grade": false, "grade_id": "adam_step", "locked": false, "schema_version": 3, "solution": true, "task": false}
def adam_step(params, grads, state, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    """Un pas d'Adam. Renvoie ``(new_params, new_state)``."""
    ### BEGIN SOLUTION
    check_params_and_grads(params, grads)
    t = state.get("t", 0) + 1
    m = state.get("m") or [np.zeros_like(p) for p in params]
    v = state.get("v") or [np.zeros_like(p) for p in params]
    m = [beta_1 * m_i + (1 - beta_1) * g for m_i, g in zip(m, grads)]
    v = [beta_2 * v_i + (1 - beta_2) * g**2 for v_i, g in zip(v, grads)]
    alpha = lr * np.sqrt(1 - beta_2**t) / (1 - beta_1**t)
    new_params = [p - alpha * m_i / (np.sqrt(v_i) + epsilon) for p, m_i, v_i in zip(params, m, v)]
    return new_params, {"t": t, "m": m, "v": v}
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "adam_step_tests", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
mine = my_steps(adam_step, demo_params, demo_grads, lr=0.01)
theirs = keras_steps(keras.optimizers.Adam(0.01), demo_params, demo_grads)
for a, b in zip(mine, theirs):
    assert np.allclose(a, b, atol=1e-5), "adam_step diffère de keras.optimizers.Adam"
_, state_after_one = adam_step(demo_params, demo_grads[0], {}, lr=0.01)
assert isinstance(state_after_one, dict) and state_after_one, (
    "adam_step doit renvoyer l'état dont il aura besoin au pas suivant"
)
print("adam_step : tests visibles réussis")

# %% [markdown]
# ## Exercice 4 — `dropout` (3 points)
#
# Le **_dropout_ inversé** de taux $r$ : à l'entraînement, chaque valeur de `x` est éliminée (mise à
# 0) avec la probabilité $r$, indépendamment des autres, et les valeurs conservées sont divisées par
# $1 - r$, de sorte que l'espérance de chaque sortie soit égale à son entrée. À l'inférence
# (`training=False`), `x` est renvoyé inchangé. Tirez les nombres aléatoires avec `rng` (un
# `np.random.Generator`), pour qu'une même graine donne le même masque. `rate` doit appartenir à
# $[0, 1)$ : levez une `ValueError` pour toute autre valeur (y compris 1 et les taux négatifs).


# %% nbgrader={"grade": false, "grade_id": "dropout", "locked": false, "schema_version": 3, "solution": true, "task": false}
def dropout(x, rate, training, rng):
    """Dropout inversé de ``x`` au taux ``rate`` si ``training`` ; ``x`` inchangé sinon."""
    ### BEGIN SOLUTION
    if not 0.0 <= rate < 1.0:
        raise ValueError(f"rate doit appartenir à [0, 1) (reçu : {rate})")
    x = np.asarray(x)
    if not training or rate == 0.0:
        return x.copy()
    keep = rng.random(x.shape) >= rate
    return np.where(keep, x / (1.0 - rate), 0.0).astype(x.dtype)
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "dropout_tests", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
ones = np.ones((100, 100), dtype="float32")
assert np.array_equal(dropout(ones, 0.5, False, np.random.default_rng(0)), ones), (
    "dropout ne doit rien changer à l'inférence"
)
dropped = dropout(ones, 0.5, True, np.random.default_rng(0))
assert set(np.unique(dropped)) <= {0.0, 2.0}, "les valeurs conservées doivent être divisées par 1 - rate"
assert 0.45 < (dropped == 0).mean() < 0.55, "environ la moitié des valeurs doivent être éliminées au taux 0,5"
print("dropout : tests visibles réussis")

# %% [markdown]
# ## Exercice 5 — la pénalité L2 (3 points)
#
# `keras.regularizers.L2(l2)` ajoute $\lambda \sum_i w_i^2$ à la perte pour un tenseur de poids $w$
# (sans facteur $\tfrac12$). Écrivez la pénalité d'une **liste** de tableaux de poids (la somme des
# pénalités de chacun) et son gradient (un tableau par tableau de poids). Les deux fonctions lèvent
# une `ValueError` pour un `l2` négatif ; `l2 = 0` donne une pénalité nulle.


# %% nbgrader={"grade": false, "grade_id": "l2_penalty", "locked": false, "schema_version": 3, "solution": true, "task": false}
def l2_penalty(weights, l2):
    """La pénalité L2 d'une liste de tableaux de poids, telle que la calcule ``keras.regularizers.L2(l2)``."""
    ### BEGIN SOLUTION
    if l2 < 0:
        raise ValueError(f"l2 ne doit pas être négatif (reçu : {l2})")
    return float(sum(l2 * np.sum(np.square(w)) for w in weights))
    ### END SOLUTION


def l2_penalty_grad(weights, l2):
    """Le gradient de ``l2_penalty`` par rapport à chaque tableau de poids (une liste de tableaux)."""
    ### BEGIN SOLUTION
    if l2 < 0:
        raise ValueError(f"l2 ne doit pas être négatif (reçu : {l2})")
    return [2.0 * l2 * np.asarray(w) for w in weights]
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "l2_penalty_tests", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
weights = [np.array([[1.0, -2.0], [0.5, 0.0]]), np.array([3.0])]
keras_value = sum(float(keras.regularizers.L2(0.01)(w.astype("float32"))) for w in weights)
assert np.isclose(l2_penalty(weights, 0.01), keras_value, rtol=1e-5), (
    "l2_penalty diffère de keras.regularizers.L2"
)
assert len(l2_penalty_grad(weights, 0.01)) == 2, (
    "l2_penalty_grad doit renvoyer un tableau par tableau de poids"
)
print("l2_penalty : tests visibles réussis")

# %% [markdown]
# ## Exercice 6 — `batchnorm_forward` (4 points)
#
# La normalisation par lots sur le **dernier axe** (les caractéristiques), telle que la calcule
# `keras.layers.BatchNormalization(momentum, epsilon)` ; `x` est de forme `(..., D)` et
# `gamma`, `beta`, `moving_mean`, `moving_var` sont de forme `(D,)`.
#
# * À l'entraînement : la moyenne $\mu_B$ et la variance $\sigma_B^2$ de `x` sur tous les axes sauf
#   le dernier (la variance **biaisée** : divisez par l'effectif, et non par l'effectif moins un)
#   normalisent `x` :
#   $y = \gamma\, \frac{x - \mu_B}{\sqrt{\sigma_B^2 + \epsilon}} + \beta$ ; les statistiques mobiles
#   se rapprochent de celles du lot : $\text{moving} \leftarrow \text{momentum} \cdot \text{moving} +
#   (1 - \text{momentum}) \cdot \text{batch}$.
# * À l'inférence : `moving_mean` et `moving_var` prennent la place de $\mu_B$ et $\sigma_B^2$, et
#   sont renvoyées inchangées.
#
# Renvoyez `(y, new_moving_mean, new_moving_var)`.


# %% nbgrader={"grade": false, "grade_id": "batchnorm_forward", "locked": false, "schema_version": 3, "solution": true, "task": false}
def batchnorm_forward(x, gamma, beta, moving_mean, moving_var, training, momentum=0.99, epsilon=1e-3):
    """Normalisation par lots sur le dernier axe. Renvoie ``(y, new_moving_mean, new_moving_var)``."""
    ### BEGIN SOLUTION
    x = np.asarray(x)
    axes = tuple(range(x.ndim - 1))
    if training:
        mean, var = x.mean(axis=axes), x.var(axis=axes)
        new_mean = momentum * moving_mean + (1 - momentum) * mean
        new_var = momentum * moving_var + (1 - momentum) * var
    else:
        mean, var = moving_mean, moving_var
        new_mean, new_var = np.array(moving_mean, copy=True), np.array(moving_var, copy=True)
    y = gamma * (x - mean) / np.sqrt(var + epsilon) + beta
    return y, new_mean, new_var
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "batchnorm_forward_tests", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
bn_x = demo_rng.normal(2.0, 3.0, size=(16, 4)).astype("float32")
layer = keras.layers.BatchNormalization(momentum=0.9)
layer.build(bn_x.shape)
layer.gamma.assign(np.linspace(0.5, 2.0, 4))
layer.beta.assign(np.linspace(-1.0, 1.0, 4))
keras_y = np.asarray(layer(bn_x, training=True))
y, moving_mean, moving_var = batchnorm_forward(
    bn_x, np.linspace(0.5, 2.0, 4), np.linspace(-1.0, 1.0, 4), np.zeros(4), np.ones(4), True, momentum=0.9
)
assert np.allclose(y, keras_y, atol=1e-4), (
    "la sortie à l'entraînement diffère de celle de BatchNormalization (Keras)"
)
assert np.allclose(moving_mean, np.asarray(layer.moving_mean), atol=1e-5), (
    "la moyenne mobile diffère de celle de Keras"
)
assert np.allclose(moving_var, np.asarray(layer.moving_variance), atol=1e-5), (
    "la variance mobile diffère de celle de Keras"
)
print("batchnorm_forward : tests visibles réussis")

# %% [markdown]
# ## Exercice 7 — `batchnorm_backward` (3 points)
#
# L'entraînement a besoin des gradients de la normalisation par lots en **mode entraînement**. Étant
# donné `dy` $= \partial L / \partial y$ (de la forme de `x`), renvoyez
# `(dx, dgamma, dbeta)` $= (\partial L/\partial x, \partial L/\partial \gamma, \partial L/\partial \beta)$.
# N'oubliez pas que $\mu_B$ et $\sigma_B^2$ dépendent de toutes les valeurs de `x` : chaque $x_i$
# atteint la perte à la fois par $\hat{x}_i$ et par les statistiques du lot.


# %% nbgrader={"grade": false, "grade_id": "batchnorm_backward", "locked": false, "schema_version": 3, "solution": true, "task": false}
def batchnorm_backward(dy, x, gamma, epsilon=1e-3):
    """Gradients de la normalisation par lots en mode entraînement, sur le dernier axe : ``(dx, dgamma, dbeta)``."""
    ### BEGIN SOLUTION
    x, dy = np.asarray(x), np.asarray(dy)
    axes = tuple(range(x.ndim - 1))
    count = x.size // x.shape[-1]
    inv_std = 1.0 / np.sqrt(x.var(axis=axes) + epsilon)
    x_hat = (x - x.mean(axis=axes)) * inv_std
    dbeta = dy.sum(axis=axes)
    dgamma = (dy * x_hat).sum(axis=axes)
    dx_hat = dy * gamma
    dx = inv_std / count * (count * dx_hat - dx_hat.sum(axis=axes) - x_hat * (dx_hat * x_hat).sum(axis=axes))
    return dx, dgamma, dbeta
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "batchnorm_backward_tests", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
bn_gamma = np.linspace(0.5, 2.0, 4)
bn_dy = demo_rng.normal(size=bn_x.shape)
dx, dgamma, dbeta = batchnorm_backward(bn_dy, bn_x.astype("float64"), bn_gamma)
assert dx.shape == bn_x.shape and dgamma.shape == dbeta.shape == (4,), (
    "les gradients n'ont pas la bonne forme"
)
# Vérification numérique d'un coefficient de dx : L = sum(dy * y), avec x décalé de +-h.
h, (i, j) = 1e-5, (3, 1)
nudged = [bn_x.astype("float64").copy() for _ in range(2)]
nudged[0][i, j] += h
nudged[1][i, j] -= h
zeros, ones = np.zeros(4), np.ones(4)  # beta, moyenne mobile et variance mobile, de forme (D,)
losses = [np.sum(bn_dy * batchnorm_forward(n, bn_gamma, zeros, zeros, ones, True)[0]) for n in nudged]
assert np.isclose(dx[i, j], (losses[0] - losses[1]) / (2 * h), rtol=1e-4), (
    "dx diffère d'un gradient calculé numériquement"
)
print("batchnorm_backward : tests visibles réussis")

# %% [markdown]
# ## L'expérience : optimiseurs et régularisations sur MNIST, suivis avec MLflow
#
# Le même petit MLP (perceptron multicouche) est entraîné avec chacune des configurations
# ci-dessous sur un sous-ensemble de MNIST, avec la même graine ; chaque exécution (*run*) est
# enregistrée dans une base MLflow, `mlflow.db` (SQLite), à côté de ce notebook, dans l'expérience
# `tp2-optimisers`. Rendez-la avec le notebook, produite avec le budget complet (*full*, celui par
# défaut : 10 époques par configuration sur 10 000 images) et sans modifier les réglages
# ci-dessous : le correcteur entraîne de nouveau chaque configuration et compare chacune de ses
# époques à vos exécutions de cette expérience (celles que vous lancez dans une autre expérience,
# pour faire des essais, ne comptent pas). Une base produite avec le budget *ci*, avec d'autres
# réglages, ou dont les exécutions diffèrent de ce que donne l'entraînement, ne rapporte aucun des
# points de la base. Pour parcourir les exécutions :
#
# ```bash
# mlflow ui --backend-store-uri sqlite:///mlflow.db   # puis ouvrez http://127.0.0.1:5000
# ```
#
# Le modèle est construit à partir d'une configuration par `build_mlp` (fourni par le kit : un MLP
# 256-128 avec ReLU, le *dropout*, la pénalité L2 et la normalisation par lots de la configuration,
# compilé avec son optimiseur et l'entropie croisée catégorielle ; lisez son code avec
# `build_mlp??`). L'entraînement utilise les optimiseurs de Keras : vous venez de vérifier que les
# vôtres calculent les mêmes pas.
#
# Ce que cela coûte sur 2 cœurs : le réseau est celui du kit, et non une architecture de votre
# choix, donc seules ses exécutions comptent : chacune des 8 configurations s'entraîne 10 époques
# sur 10 000 images en 5 à 7 s (environ 50 s en tout, le notebook environ une minute) ; le tableau
# ci-dessous donne la durée de chaque exécution.

# %%
import mlflow

from tpdl.course.experiments import build_mlp

EXPERIMENT = "tp2-optimisers"
BASE = {
    "optimizer": "adam",
    "learning_rate": 0.001,
    "momentum": 0.0,
    "nesterov": False,
    "dropout": 0.0,
    "l2": 0.0,
    "batch_norm": False,
}
CONFIGS = {
    "sgd": {**BASE, "optimizer": "sgd", "learning_rate": 0.01},
    "momentum": {**BASE, "optimizer": "sgd", "learning_rate": 0.01, "momentum": 0.9},
    "nesterov": {**BASE, "optimizer": "sgd", "learning_rate": 0.01, "momentum": 0.9, "nesterov": True},
    "rmsprop": {**BASE, "optimizer": "rmsprop"},
    "adam": BASE,
    "adam-dropout": {**BASE, "dropout": 0.3},
    "adam-l2": {**BASE, "l2": 1e-4},
    "adam-batchnorm": {**BASE, "batch_norm": True},
}


# %% [markdown]
# ## Exercice 8 — `train_and_log` (4 points)
#
# Entraînez `build_mlp(config)` sur `data = (x_train, y_train, x_val, y_val)` (images aplaties et mises
# à l'échelle, étiquettes en encodage *one-hot*) pendant `epochs` époques, avec une taille de lot
# `batch_size`, après `keras.utils.set_random_seed(seed)`, et enregistrez l'entraînement comme
# **une seule exécution MLflow** nommée `name` dans l'expérience `experiment` de la base
# `tracking_uri` :
#
# * paramètres : toutes les clés de `config`, ainsi que `epochs`, `batch_size`, `seed` et
#   `train_size` (le nombre d'images d'entraînement) ;
# * métriques **par époque** (`step` = l'époque, à partir de 0) : `loss`, `accuracy`, `val_loss`,
#   `val_accuracy` ;
# * l'exécution doit être terminée (statut `FINISHED`) quand la fonction rend la main.
#
# Renvoyez l'historique (`history.history` : un dictionnaire de listes de flottants, un par époque).


# %% nbgrader={"grade": false, "grade_id": "train_and_log", "locked": false, "schema_version": 3, "solution": true, "task": false}
def train_and_log(
    name,
    config,
    data,
    epochs,
    batch_size=128,
    seed=0,
    tracking_uri="sqlite:///mlflow.db",
    experiment=EXPERIMENT,
):
    """Entraîne un MLP sur ``data`` avec ``config`` et enregistre l'exécution dans MLflow ; renvoie ``history.history``."""
    ### BEGIN SOLUTION
    x_train, y_train, x_val, y_val = data
    keras.utils.set_random_seed(seed)
    model = build_mlp(config)
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment(experiment)
    with mlflow.start_run(run_name=name):
        mlflow.log_params(
            {**config, "epochs": epochs, "batch_size": batch_size, "seed": seed, "train_size": len(x_train)}
        )
        history = model.fit(
            x_train, y_train, validation_data=(x_val, y_val), epochs=epochs, batch_size=batch_size, verbose=0
        )
        for epoch in range(epochs):
            mlflow.log_metrics(
                {key: float(values[epoch]) for key, values in history.history.items()}, step=epoch
            )
    return {key: [float(v) for v in values] for key, values in history.history.items()}
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "train_and_log_tests", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false} tags=["skip-grading"]
mnist = data.load_mnist()
x_all = mnist.x_train.reshape(len(mnist.x_train), -1).astype("float32") / 255.0
y_all = np.eye(10, dtype="float32")[mnist.y_train]
n_train, n_val = BUDGET.pick(full=10_000, ci=1_000), BUDGET.pick(full=5_000, ci=500)
experiment_data = (x_all[:n_train], y_all[:n_train], x_all[-n_val:], y_all[-n_val:])
EPOCHS = BUDGET.pick(full=10, ci=2)

histories = {name: train_and_log(name, config, experiment_data, EPOCHS) for name, config in CONFIGS.items()}

client = mlflow.MlflowClient("sqlite:///mlflow.db")
runs = client.search_runs([client.get_experiment_by_name(EXPERIMENT).experiment_id], max_results=1000)
logged = {run.info.run_name for run in runs if run.info.status == "FINISHED"}
assert logged >= set(CONFIGS), f"exécutions absentes de mlflow.db : {sorted(set(CONFIGS) - logged)}"
adam_run = next(run for run in runs if run.info.run_name == "adam")
assert len(client.get_metric_history(adam_run.info.run_id, "val_loss")) == EPOCHS, (
    "enregistrez val_loss une fois par époque"
)
print("train_and_log : tests visibles réussis")

# %% [markdown]
# ## Courbes d'apprentissage et résultats
#
# La figure et le tableau sont construits à partir des historiques renvoyés par les exécutions.

# %% tags=["skip-grading"]
import matplotlib.pyplot as plt

figure, axes = plt.subplots(1, 2, figsize=(12, 4))
for name, history in histories.items():
    axes[0].plot(history["val_loss"], label=name)
    axes[1].plot(history["val_accuracy"], label=name)
axes[0].set(title="perte de validation", xlabel="époque")
axes[1].set(title="exactitude de validation", xlabel="époque")
axes[1].legend(fontsize="small")
figure.tight_layout()
figure.savefig("learning_curves.png", dpi=80)

runs_by_name = {}
for run in sorted(runs, key=lambda run: run.info.start_time):
    runs_by_name[run.info.run_name] = run  # la dernière exécution de chaque nom
print(f"{'exécution':<16}{'perte val.':>10}{'exact. val.':>14}{'durée (s)':>10}")
for name in CONFIGS:
    run = runs_by_name[name]
    seconds = (run.info.end_time - run.info.start_time) / 1000
    loss, accuracy = histories[name]["val_loss"][-1], histories[name]["val_accuracy"][-1]
    print(f"{name:<16}{loss:>10.4f}{accuracy:>14.4f}{seconds:>10.1f}")

# %% [markdown] nbgrader={"grade": true, "grade_id": "analysis", "locked": false, "points": 3, "schema_version": 3, "solution": true, "task": false}
# ## Analyse (3 points, noté à la main)
#
# En quelques phrases, à partir de votre figure et de votre tableau : quel optimiseur atteint la
# perte de validation la plus basse dans le budget imparti, et pourquoi la SGD simple peut-elle
# rester à la traîne ? Que change chaque régularisation (*dropout*, L2, normalisation par lots) dans
# les courbes, et quand l'utiliseriez-vous ?
#
# ### BEGIN SOLUTION
# À budget égal, la SGD simple avec un taux d'apprentissage de 0,01 est loin derrière : elle fait de
# petits pas de même taille dans toutes les directions, si bien que sa perte de validation baisse
# encore après la dernière époque. Le *momentum* (et l'anticipation de Nesterov) cumule les
# directions sur lesquelles les gradients s'accordent et fait l'essentiel du chemin ; RMSprop et
# Adam adaptent le pas de chaque paramètre à la taille de ses gradients récents et atteignent une
# perte de validation basse en deux ou trois époques. Ensuite, la perte de validation d'Adam et de
# RMSprop remonte lentement alors que leur perte d'entraînement continue de baisser : le réseau
# commence à surapprendre ses 10 000 images. Le *dropout* ralentit la baisse de la perte
# d'entraînement, mais la perte de validation continue de baisser (c'est la plus basse à la fin,
# avec celle de la normalisation par lots) ; une pénalité L2 de 1e-4 ne change presque rien sur
# 10 époques ; la normalisation par lots donne les meilleures premières époques et une descente régulière.
# J'ajouterais du *dropout* (ou une pénalité L2 plus forte) quand la perte de validation remonte
# alors que la perte d'entraînement continue de baisser, et la normalisation par lots pour entraîner
# plus vite des réseaux plus profonds.
# ### END SOLUTION
