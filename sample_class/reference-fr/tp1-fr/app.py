"""Le classifieur de chiffres du TP1 sous forme d'API REST, servie par gunicorn.

    ``MODEL_PATH=mnist_dense.keras gunicorn --bind 127.0.0.1:8000 app:app``

* ``GET /health`` répond ``{"status": "ok"}`` ;
* ``POST /predict`` accepte du JSON ``{"image": [[28 lignes de 28 nombres de 0 à 255]]}``, du JSON
  ``{"images": [image, ...]}`` (au plus ``MAX_BATCH`` images), ou un PNG 28x28 en niveaux de gris
  (le corps brut avec ``Content-Type: image/png``, ou un champ de formulaire ``image``), et répond
  ``{"digit": int, "probabilities": [10 flottants]}``, ou une liste de ces réponses pour un lot.

Une entrée incorrecte reçoit une réponse 4xx ``{"error": "..."}`` qui dit ce qui n'allait pas.
"""

import io
import math
import os

import keras
import numpy as np
from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

MODEL_PATH = os.environ.get("MODEL_PATH", "mnist_dense.keras")
MAX_BATCH = 256
MAX_REQUEST_BYTES = 4 * 2**20  # un lot de 256 images en JSON occupe environ 1 Mo


class BadInput(ValueError):
    """Ce qui n'allait pas dans une requête, formulé pour le client."""


def _image(value, where: str) -> np.ndarray:
    """Une liste 28x28 de nombres de [0, 255] convertie en pixels float32 ; sinon, lève ``BadInput``
    en disant ce qui ne va pas."""
    if not isinstance(value, list) or len(value) != 28:
        raise BadInput(f"{where} doit être une liste de 28 lignes")
    for number, row in enumerate(value):
        if not isinstance(row, list) or len(row) != 28:
            raise BadInput(f"{where} : la ligne {number} doit être une liste de 28 nombres")
        for pixel in row:
            if isinstance(pixel, bool) or not isinstance(pixel, (int, float)):
                raise BadInput(
                    f"{where} : les pixels doivent être des nombres (type reçu : {type(pixel).__name__})"
                )
            if not math.isfinite(pixel):
                raise BadInput(f"{where} : les pixels doivent être des nombres finis")
            if not 0 <= pixel <= 255:
                raise BadInput(
                    f"{where} : les pixels doivent être compris entre 0 et 255 (valeur reçue : {pixel})"
                )
    return np.asarray(value, dtype="float32")


def _png(data: bytes) -> np.ndarray:
    """Un PNG 28x28 en niveaux de gris converti en pixels float32 ; sinon, lève ``BadInput``."""
    from PIL import Image, UnidentifiedImageError

    try:
        picture = Image.open(io.BytesIO(data))
        picture.load()
    except (UnidentifiedImageError, OSError):
        raise BadInput("le fichier envoyé n'est pas une image PNG lisible") from None
    if picture.size != (28, 28):
        raise BadInput(f"l'image doit faire 28x28 pixels, et non {picture.size[0]}x{picture.size[1]}")
    return np.asarray(picture.convert("L"), dtype="float32")


def images_from_request() -> tuple[np.ndarray, bool]:
    """Les images de la requête en cours, en tableau (N, 28, 28), et si la requête était un lot."""
    if request.mimetype == "image/png":
        return _png(request.get_data())[None], False
    if "image" in request.files:
        return _png(request.files["image"].read())[None], False
    if not request.is_json:
        raise BadInput("envoyez un objet JSON contenant « image » ou « images », ou une image PNG")
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # la limite du parseur lui-même : plus profond que n'importe quelle image
        raise BadInput("le corps JSON est trop profondément imbriqué") from None
    if not isinstance(body, dict):
        raise BadInput("le corps n'est pas un objet JSON")
    if "image" in body:
        return _image(body["image"], "image")[None], False
    if "images" in body:
        images = body["images"]
        if not isinstance(images, list) or not images:
            raise BadInput("« images » doit être une liste d'images non vide")
        if len(images) > MAX_BATCH:
            raise BadInput(f"au plus {MAX_BATCH} images par requête, et non {len(images)}")
        return np.stack([_image(image, f"images[{i}]") for i, image in enumerate(images)]), True
    raise BadInput("l'objet JSON doit contenir « image » ou « images »")


def create_app(model_path: str = MODEL_PATH) -> Flask:
    """L'application Flask qui sert le modèle enregistré dans ``model_path`` (chargé une seule fois, ici)."""
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES
    # Chargez le modèle (une seule fois), puis déclarez GET /health, POST /predict (avec images_from_request)
    # et des gestionnaires d'erreurs qui répondent en JSON `{"error": ...}` avec un statut 4xx (voir la
    # docstring du module).
    model = keras.saving.load_model(model_path)

    @app.get("/health")
    def health():
        return jsonify(status="ok")

    @app.post("/predict")
    def predict():
        images, batch = images_from_request()
        x = images.reshape(len(images), -1) / 255.0
        probabilities = np.asarray(model(x, training=False), dtype="float64")
        answers = [{"digit": int(p.argmax()), "probabilities": [float(v) for v in p]} for p in probabilities]
        return jsonify(answers if batch else answers[0])

    @app.errorhandler(BadInput)
    def bad_input(error):
        return jsonify(error=str(error)), 400

    @app.errorhandler(HTTPException)
    def http_error(error):  # 404, 405, 413 (au-delà de MAX_REQUEST_BYTES)... en JSON, pas en HTML
        return jsonify(error=error.description), error.code

    @app.errorhandler(Exception)
    def unexpected(error):
        app.logger.exception("unexpected error")
        return jsonify(error="internal error"), 500

    return app


app = create_app() if os.path.exists(MODEL_PATH) else None
