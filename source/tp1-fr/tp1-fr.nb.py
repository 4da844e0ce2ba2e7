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
# # TP1 — Un réseau dense sur MNIST, suivi et servi
#
# Vous allez transformer les chiffres bruts de MNIST en un classifieur entraîné, puis le déployer :
# préparer les données, construire un réseau dense avec Keras, l'entraîner, suivre l'exécution avec
# MLflow, servir le modèle par une API REST Flask sous gunicorn, et empaqueter ce service dans une
# image Docker. Complétez chaque cellule qui contient `YOUR CODE HERE` ainsi que les fichiers
# `app.py`, `Dockerfile`, `.dockerignore` et `requirements.txt` ; exécutez les tests placés sous
# chaque exercice, et rendez le dossier entier (le notebook, `mnist_dense.keras`, `mlflow.db` et
# `mlruns/`, ainsi que les quatre fichiers).
#
# Les cellules d'entraînement lisent un **budget** fourni par le kit : `full` par défaut
# (l'entraînement complet), `ci` quand le notebook est vérifié automatiquement (le même code sur
# quelques milliers d'images et une ou deux époques).

# %%
import tpdl  # en premier : fait taire les messages de démarrage de TensorFlow

import keras
import mlflow
import numpy as np

from tpdl.course import budget, costs, data

BUDGET = budget.current()
SEED = 0
keras.utils.set_random_seed(SEED)
print(f"budget : {BUDGET.name}")

# %% [markdown]
# ## Les données
#
# MNIST contient 70 000 chiffres manuscrits en niveaux de gris de 28×28 pixels (`uint8`, 0–255),
# avec leurs étiquettes (0–9). `tpdl.course.data.load_mnist()` les renvoie sous la forme
# `x_train, y_train, x_test, y_test`.

# %%
mnist = data.load_mnist()
print(mnist.origin, mnist.x_train.shape, mnist.x_test.shape)

# %% [markdown]
# ## Exercice 1 — `preprocess` (3 points)
#
# Un réseau dense prend en entrée des vecteurs, pas des images, et apprend mieux sur des entrées
# de faible amplitude :
#
# * `images` : tableau `uint8` de forme `(N, 28, 28)` → `x` : tableau `float32` de forme `(N, 784)`,
#   chaque pixel étant divisé par 255 pour que les valeurs soient dans `[0, 1]` ;
# * `labels` : entiers de forme `(N,)` → `y` : tableau `float32` en encodage *one-hot*, de forme
#   `(N, 10)`.
#
# Ne modifiez pas les tableaux que vous recevez.


# %% nbgrader={"grade": false, "grade_id": "preprocess", "locked": false, "schema_version": 3, "solution": true, "task": false}
def preprocess(images, labels):
    """Aplatit et met à l'échelle ``images`` ; encode ``labels`` en *one-hot*. Renvoie ``(x, y)``."""
    ### BEGIN SOLUTION
    images = np.asarray(images)
    x = images.reshape(len(images), -1).astype("float32") / 255.0  # (N, 784)
    y = np.eye(10, dtype="float32")[np.asarray(labels, dtype=int)]  # (N, 10)
    return x, y
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "preprocess_tests", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false}
x_demo, y_demo = preprocess(mnist.x_train[:5], mnist.y_train[:5])
assert x_demo.shape == (5, 784), "x doit avoir une ligne de 784 pixels par image"
assert x_demo.dtype == np.float32, "x doit être de type float32"
assert 0.0 <= x_demo.min() and x_demo.max() <= 1.0, "les valeurs des pixels doivent être dans [0, 1]"
assert y_demo.shape == (5, 10), "y doit avoir une ligne de 10 valeurs par étiquette"
assert np.all(y_demo.argmax(axis=1) == mnist.y_train[:5]), (
    "le 1 de chaque ligne de y doit se trouver à l'indice de l'étiquette"
)
print("preprocess : tests visibles réussis")

# %% [markdown]
# ## Exercice 2 — `build_dense_model` (4 points)
#
# Construisez et **compilez** un `keras.Model` à `input_dim` entrées et `n_classes` classes :
#
# * uniquement des couches `Dense`, `Dropout` et `BatchNormalization` (après l'`Input`) ;
# * une sortie softmax de `n_classes` unités, pour que la somme de chaque ligne de sortie vaille 1 ;
# * compilé avec un optimiseur, la perte d'entropie croisée catégorielle (les étiquettes sont en
#   encodage *one-hot*) et la métrique d'exactitude (*accuracy*).
#
# Le choix des largeurs, de la profondeur, du *dropout* et de l'optimiseur vous revient : les tests
# cachés vérifient le contrat ci-dessus, et le modèle entraîné doit atteindre 97,83 % sur le jeu de
# test de MNIST.


# %% nbgrader={"grade": false, "grade_id": "build_dense_model", "locked": false, "schema_version": 3, "solution": true, "task": false}
def build_dense_model(input_dim=784, n_classes=10):
    """Un classifieur dense compilé, de ``input_dim`` caractéristiques vers ``n_classes`` classes."""
    ### BEGIN SOLUTION
    model = keras.Sequential(
        [
            keras.Input(shape=(input_dim,)),
            keras.layers.Dense(512, activation="relu"),
            keras.layers.Dropout(0.2),
            keras.layers.Dense(256, activation="relu"),
            keras.layers.Dropout(0.2),
            keras.layers.Dense(n_classes, activation="softmax"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3), loss="categorical_crossentropy", metrics=["accuracy"]
    )
    return model
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "build_dense_model_tests", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
demo_model = build_dense_model()
assert demo_model.output_shape == (None, 10), "le modèle doit produire 10 valeurs par image"
assert demo_model.optimizer is not None, "compilez le modèle avant de le renvoyer"
probabilities = demo_model.predict(x_demo, verbose=0)
assert np.allclose(probabilities.sum(axis=1), 1.0, atol=1e-5), (
    "la somme de chaque ligne de sortie doit valoir 1 (softmax)"
)
print("build_dense_model : tests visibles réussis")

# %% [markdown]
# ## Exercice 3 — `train` (4 points)
#
# Entraînez le `model` compilé sur `(x, y)` en mettant de côté 10 % des données pour la validation
# (`validation_split=0.1`), par mini-lots de 128, pendant `budget.pick(full=..., ci=...)` époques :
# assez, avec le budget `full`, pour dépasser 97,83 % sur le jeu de test (15 époques au plus), et
# 3 au plus avec le budget `ci`. Renvoyez l'objet `keras.callbacks.History` que renvoie `fit`.


# %% nbgrader={"grade": false, "grade_id": "train", "locked": false, "schema_version": 3, "solution": true, "task": false}
def train(model, x, y, budget):
    """Entraîne ``model`` sur ``(x, y)``, 10 % mis de côté pour la validation, pendant les époques du
    budget ; renvoie l'objet History."""
    ### BEGIN SOLUTION
    # Le taux d'apprentissage diminue d'un cinquième à chaque époque : de grands pas d'abord, des pas
    # fins à la fin.
    decay = keras.callbacks.LearningRateScheduler(lambda epoch, rate: rate * 0.8 if epoch else rate)
    epochs, verbose = budget.pick(full=15, ci=2), 2 if budget.is_full else 0
    return model.fit(
        x, y, validation_split=0.1, epochs=epochs, batch_size=128, callbacks=[decay], verbose=verbose
    )
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "train_tests", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false}
x_small, y_small = preprocess(mnist.x_train[:600], mnist.y_train[:600])
small_history = train(build_dense_model(), x_small, y_small, budget.Budget("ci"))
assert isinstance(small_history, keras.callbacks.History), "train doit renvoyer ce que renvoie model.fit"
assert "val_loss" in small_history.history, "mettez de côté un jeu de validation"
assert 1 <= len(small_history.epoch) <= 3, "3 époques au plus avec le budget ci"
print("train : tests visibles réussis")

# %% [markdown]
# ## Exercice 4 — `log_training` (4 points)
#
# Enregistrez un entraînement avec MLflow, sous la forme d'**une seule exécution** (*run*) dans
# l'expérience `experiment` de la base de suivi `tracking_uri` (un fichier SQLite à côté du
# notebook) :
#
# * les paramètres `params` (un dict) ;
# * les métriques de `history` (le dict `History.history`) **à chaque époque** (`step` = l'époque,
#   en partant de 0), et `test_accuracy` une seule fois ;
# * le fichier du modèle `model_path`, comme artefact (`mlflow.log_artifact`) ;
#
# l'exécution devant être terminée (statut `FINISHED`) au retour de la fonction. Renvoyez
# l'identifiant de l'exécution.


# %% nbgrader={"grade": false, "grade_id": "log_training", "locked": false, "schema_version": 3, "solution": true, "task": false}
def log_training(
    history, model_path, params, test_accuracy, tracking_uri="sqlite:///mlflow.db", experiment="tp1-mnist"
):
    """Enregistre les paramètres, les métriques par époque, l'exactitude de test et le fichier du modèle
    en une seule exécution MLflow ; renvoie son identifiant."""
    ### BEGIN SOLUTION
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_experiment(experiment)
    with mlflow.start_run() as run:
        mlflow.log_params(params)
        for key, values in history.items():
            for epoch, value in enumerate(values):
                mlflow.log_metric(key, float(value), step=epoch)
        mlflow.log_metric("test_accuracy", float(test_accuracy))
        mlflow.log_artifact(model_path)
    return run.info.run_id
    ### END SOLUTION


# %% nbgrader={"grade": true, "grade_id": "log_training_tests", "locked": true, "points": 4, "schema_version": 3, "solution": false, "task": false} tags=["skip-grading"]
# Vérifié après l'entraînement ci-dessous : l'exécution qu'il a enregistrée se trouve dans mlflow.db.
def logged_run_is_complete(run_id):
    client = mlflow.MlflowClient("sqlite:///mlflow.db")
    run = client.get_run(run_id)
    assert run.info.status == "FINISHED", "terminez l'exécution (utilisez `with mlflow.start_run():`)"
    assert "test_accuracy" in run.data.metrics, "enregistrez test_accuracy"
    assert len(client.get_metric_history(run_id, "val_loss")) == len(history.epoch), (
        "enregistrez val_loss à chaque époque"
    )
    assert any(a.path == MODEL_FILE for a in client.list_artifacts(run_id)), (
        "enregistrez le fichier du modèle comme artefact"
    )
    print("log_training : tests visibles réussis")


# %% [markdown]
# ## Entraînement, enregistrement, suivi
#
# Cette cellule est ignorée lors de la notation de votre notebook (elle est marquée
# `skip-grading`) : exécutez-la avec le budget complet avant de rendre votre travail. Elle
# enregistre le modèle que vous déployez sous le nom `mnist_dense.keras` (ses poids, sans l'état de
# l'optimiseur : un service prédit, il n'entraîne pas).
#
# Ce qu'elle coûte sur 2 cœurs libres (mesure du cours sur la solution de référence ; votre
# architecture est chronométrée en temps CPU, que les autres programmes exécutés en parallèle ne
# modifient pas) : le réseau de référence (784-512-256-10, 535 818 paramètres) s'entraîne 15
# époques sur 60 000 images en 67 s environ (4,4 s par époque). La cellule chronomètre d'abord
# quelques pas de votre architecture et vous avertit si elle dépasse ce qui est prévu : au plus
# 2 000 000 de paramètres et 15 s par époque. `train` ne conserve rien en cours de route : si un
# entraînement est interrompu, relancez la cellule.

# %% tags=["skip-grading"]
import time

import matplotlib.pyplot as plt

MODEL_FILE = "mnist_dense.keras"
x_train, y_train = preprocess(*BUDGET.subset(mnist.x_train, mnist.y_train, ci=2000))
x_test, y_test = preprocess(mnist.x_test, mnist.y_test)
keras.utils.set_random_seed(SEED)  # le même entraînement à chaque fois
model = build_dense_model()
print(
    costs.preflight(
        model,
        x_train,
        y_train,
        epochs=BUDGET.pick(full=15, ci=2),
        batch_size=128,
        limit=costs.Limit(parameters=2_000_000, epoch_s=15),
        validation_split=0.1,
    )
)
started = time.perf_counter()
history = train(model, x_train, y_train, BUDGET)
train_seconds = time.perf_counter() - started
test_loss, test_accuracy = model.evaluate(x_test, y_test, verbose=0)
print(f"exactitude de test : {test_accuracy:.4f} après {len(history.epoch)} époques en {train_seconds:.0f} s")

serving = type(model).from_config(model.get_config())  # l'architecture seule, non compilée
serving.set_weights(model.get_weights())
serving.save(MODEL_FILE)
costs.write_record(MODEL_FILE, BUDGET, len(history.epoch), train_seconds, {"test_accuracy": test_accuracy})

figure, axes = plt.subplots(1, 2, figsize=(10, 3.5))
for key, axis in (("loss", axes[0]), ("accuracy", axes[1])):
    axis.plot(history.history[key], label="entraînement")
    axis.plot(history.history[f"val_{key}"], label="validation")
    axis.set(title=key, xlabel="époque")
    axis.legend()
figure.tight_layout()
figure.savefig("learning_curves.png", dpi=80)

params = {
    "hidden_units": "-".join(
        str(layer.units) for layer in model.layers[:-1] if isinstance(layer, keras.layers.Dense)
    ),
    "optimizer": type(model.optimizer).__name__,
    "epochs": len(history.epoch),
    "batch_size": 128,
    "train_size": len(x_train),
    "budget": BUDGET.name,
    "train_seconds": round(train_seconds, 1),
}
run_id = log_training(history.history, MODEL_FILE, params, test_accuracy)
logged_run_is_complete(run_id)

# %% [markdown]
# ## Le modèle enregistré (3 points)
#
# Les tests cachés chargent `mnist_dense.keras` (de façon sûre : aucun code personnalisé n'est
# exécuté) et l'évaluent sur les 10 000 images de test : il doit atteindre **97,83 %**, avec des
# couches denses uniquement, et prendre des vecteurs de 784 pixels tels que les produit
# `preprocess`. Ils classent aussi 10 000 chiffres inédits, tirés au moment de la notation : des
# chiffres d'entraînement choisis au hasard (avec remise), auxquels on ajoute un peu de bruit, si
# bien que personne ne détient ces images exactes. Ils ne font échouer votre modèle que s'ils ont
# de fortes raisons statistiques de conclure qu'il fait moins bien que 97 % sur de tels chiffres,
# ou plus de 1,5 point de moins que sur le jeu de test (un modèle entraîné sur le jeu
# d'entraînement fait au moins aussi bien sur eux ; un modèle qui a appris les images de test par
# cœur, non) : un modèle situé exactement à l'un de ces seuils échoue au plus une fois sur dix
# mille notations, et un modèle 1,4 point en dessous réussit au plus une fois sur mille.

# %% nbgrader={"grade": true, "grade_id": "saved_model_tests", "locked": true, "points": 3, "schema_version": 3, "solution": false, "task": false} tags=["skip-grading"]
saved = keras.saving.load_model(MODEL_FILE)
saved_accuracy = float(np.mean(saved.predict(x_test, verbose=0).argmax(axis=1) == mnist.y_test))
costs.require(saved_accuracy >= 0.9783, f"le modèle enregistré atteint {saved_accuracy:.4f}", BUDGET)
assert not any("Conv" in type(layer).__name__ for layer in saved.layers), "couches denses uniquement"
print(f"modèle enregistré : {saved_accuracy:.4f} sur le jeu de test")

# %% [markdown]
# ## Exercice 5 — une API REST : `app.py` (8 points)
#
# Complétez `app.py` (à côté de ce notebook) : une fabrique d'application Flask
# `create_app(model_path)` qui charge le modèle **une seule fois** et sert
#
# * `GET /health` → `{"status": "ok"}` ;
# * `POST /predict` avec le JSON `{"image": <28 rows of 28 numbers 0-255>}` →
#   `{"digit": <int>, "probabilities": <10 floats>}` ; avec `{"images": [<image>, ...]}` → une liste
#   de telles réponses ; avec un PNG de 28×28 (corps de type `image/png`, ou champ de formulaire
#   `image`) → une seule réponse ;
# * pour toute requête incorrecte (un corps qui n'est pas du JSON ou pas de l'UTF-8, un JSON mal
#   formé, un JSON imbriqué plus profondément que ne l'est une image ou un nombre trop long pour
#   être converti, une liste au lieu d'un objet, un champ manquant, une forme erronée, des valeurs
#   non numériques, NaN, des valeurs hors de 0-255, un lot vide ou contenant une image incorrecte,
#   un corps `image/png` qui n'est pas un PNG, un corps qui dépasse la limite annoncée) ainsi que
#   pour une URL inconnue ou une mauvaise méthode, une réponse **4xx** `{"error": "..."}` (en JSON,
#   jamais les pages HTML de Flask) qui dit ce qui n'allait pas : jamais de 500, jamais de trace
#   d'appels (*traceback*).
#
# Les tests cachés démarrent votre application sous **gunicorn** et lui envoient de vraies
# requêtes HTTP. Ses réponses à 200 chiffres inédits envoyés en un lot, et à 20 d'entre eux envoyés
# un par un, doivent être les prédictions mêmes de votre modèle enregistré (les chiffres sur
# lesquels le modèle hésite entre deux classes sont écartés) : aucune exactitude n'est exigée de
# l'application, seulement qu'elle serve le modèle, en mettant les pixels à l'échelle comme à
# l'entraînement. Ils indiquent aussi le 95e centile du temps de réponse pour une image (appelez
# directement le modèle, `model(x)` : `model.predict` à chaque requête est bien plus lent). Essayez
# vous-même :
#
# ```bash
# MODEL_PATH=mnist_dense.keras gunicorn --bind 127.0.0.1:8000 app:app
# curl -s localhost:8000/health
# ```

# %% nbgrader={"grade": true, "grade_id": "app_tests", "locked": true, "points": 8, "schema_version": 3, "solution": false, "task": false} tags=["skip-grading"]
import importlib

import app as service

importlib.reload(service)
client = service.create_app(MODEL_FILE).test_client()
assert client.get("/health").get_json() == {"status": "ok"}
answer = client.post("/predict", json={"image": mnist.x_test[0].tolist()}).get_json()
assert answer["digit"] == mnist.y_test[0] and len(answer["probabilities"]) == 10, answer
bad = client.post("/predict", json={"image": [[0] * 28] * 27})
assert 400 <= bad.status_code < 500 and "error" in bad.get_json(), (
    "une forme erronée doit recevoir une erreur JSON 4xx"
)
print("app.py : tests visibles réussis")

# %% [markdown]
# ## Exercice 6 — une image Docker : `Dockerfile`, `.dockerignore`, `requirements.txt` (8 points)
#
# Empaquetez le service : un `requirements.txt` de ce dont il a besoin, aux versions figées ; un
# `Dockerfile` fondé sur une image de base Python *slim* de version figée (pas de `latest`), qui
# installe les dépendances **avant** de copier le code (pour qu'une modification du code ne les
# réinstalle pas), qui s'exécute sous un utilisateur **non root**, avec `EXPOSE`, un `HEALTHCHECK`
# et gunicorn comme commande ; un `.dockerignore` qui tient les notebooks, les exécutions MLflow et
# les données hors du contexte de construction. Les tests cachés l'analysent avec
# [hadolint](https://github.com/hadolint/hadolint) et lisent ses instructions ; là où la machine de
# notation dispose de Docker, ils construisent aussi l'image et lui soumettent 40 chiffres inédits,
# auxquels elle doit répondre exactement comme votre modèle enregistré. Cette construction se fait
# **sans réseau** : l'image de base doit être l'une de celles que détient la machine de notation
# (`python:3.11-slim`, la même version de Python que l'environnement du cours), et `pip install`
# n'atteint qu'un index de paquets aux versions figées par le cours (celles de l'environnement de ce
# notebook : `flask`, `gunicorn`, `keras`, `numpy`, `pillow`, `tensorflow-cpu`, et leurs
# dépendances). Rien d'autre ne peut être téléchargé pendant la construction (pas d'`apt-get`, pas
# de `curl`). Si la machine ne peut pas construire du tout (pas d'image de base, pas d'index), les
# deux points de l'image attendent une machine qui le peut ; une construction qui échoue sur l'une
# de vos étapes les perd.
#
# ```bash
# hadolint Dockerfile
# docker build -t mnist-api . && docker run --rm -p 8000:8000 mnist-api
# ```

# %% nbgrader={"grade": true, "grade_id": "dockerfile_tests", "locked": true, "points": 6, "schema_version": 3, "solution": false, "task": false} tags=["skip-grading"]
import shutil
import subprocess
import sys
from pathlib import Path

hadolint = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")  # installé avec le kit
lint = subprocess.run(
    [hadolint, "--failure-threshold", "warning", "Dockerfile"], capture_output=True, text=True
)
assert lint.returncode == 0, lint.stdout
print("Dockerfile : hadolint ne trouve rien à redire")

# %% nbgrader={"grade": true, "grade_id": "docker_image_tests", "locked": true, "points": 2, "schema_version": 3, "solution": false, "task": false} tags=["skip-grading"]
# Construite et interrogée par les tests cachés là où la machine de notation dispose de Docker.
import os

assert os.path.exists(".dockerignore"), "ajoutez un fichier .dockerignore"
print("l'image est construite par le correcteur là où Docker est disponible")
