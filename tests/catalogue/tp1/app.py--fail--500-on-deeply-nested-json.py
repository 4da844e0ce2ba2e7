"""The reference app before it knew the JSON parser's limit: a body nested 100,000 deep raises
RecursionError inside the view, which the catch-all handler answers with a 500.

cells: app_tests
loses: app_rejects_bad_input, app_never_answers_500_nor_leaks_tracebacks
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
MAX_REQUEST_BYTES = 4 * 2**20  # a batch of 256 images as JSON takes about 1 MB


class BadInput(ValueError):
    """What was wrong with a request, in words for the client."""


def _image(value, where: str) -> np.ndarray:
    """A 28x28 list of numbers in [0, 255] as float32 pixels, or :class:`BadInput` saying what is wrong."""
    if not isinstance(value, list) or len(value) != 28:
        raise BadInput(f"{where} should be a list of 28 rows")
    for number, row in enumerate(value):
        if not isinstance(row, list) or len(row) != 28:
            raise BadInput(f"{where}: row {number} should be a list of 28 numbers")
        for pixel in row:
            if isinstance(pixel, bool) or not isinstance(pixel, (int, float)):
                raise BadInput(f"{where}: pixels should be numbers, found {type(pixel).__name__}")
            if not math.isfinite(pixel):
                raise BadInput(f"{where}: pixels should be finite numbers")
            if not 0 <= pixel <= 255:
                raise BadInput(f"{where}: pixels should lie between 0 and 255, found {pixel}")
    return np.asarray(value, dtype="float32")


def _png(data: bytes) -> np.ndarray:
    """A 28x28 greyscale PNG as float32 pixels, or :class:`BadInput`."""
    from PIL import Image, UnidentifiedImageError

    try:
        picture = Image.open(io.BytesIO(data))
        picture.load()
    except (UnidentifiedImageError, OSError):
        raise BadInput("the upload is not a readable PNG image") from None
    if picture.size != (28, 28):
        raise BadInput(f"the image should be 28x28 pixels, not {picture.size[0]}x{picture.size[1]}")
    return np.asarray(picture.convert("L"), dtype="float32")


def images_from_request() -> tuple[np.ndarray, bool]:
    """The images of the current request as an (N, 28, 28) array, and whether it was a batch."""
    if request.mimetype == "image/png":
        return _png(request.get_data())[None], False
    if "image" in request.files:
        return _png(request.files["image"].read())[None], False
    if not request.is_json:
        raise BadInput("send JSON ({'image': ...} or {'images': [...]}) or a PNG image")
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadInput("the body is not a JSON object")
    if "image" in body:
        return _image(body["image"], "image")[None], False
    if "images" in body:
        images = body["images"]
        if not isinstance(images, list) or not images:
            raise BadInput("images should be a non-empty list of images")
        if len(images) > MAX_BATCH:
            raise BadInput(f"at most {MAX_BATCH} images per request, not {len(images)}")
        return np.stack([_image(image, f"images[{i}]") for i, image in enumerate(images)]), True
    raise BadInput("the JSON object should hold 'image' or 'images'")


def create_app(model_path: str = MODEL_PATH) -> Flask:
    """The Flask application serving the model saved in ``model_path`` (loaded once, here)."""
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES
    # Load the model (once), then declare GET /health, POST /predict (with images_from_request),
    # and error handlers that answer JSON {"error": ...} with a 4xx status (see the module docstring).
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
    def http_error(error):  # 404, 405, 413 (over MAX_REQUEST_BYTES)... as JSON, not HTML
        return jsonify(error=error.description), error.code

    @app.errorhandler(Exception)
    def unexpected(error):
        app.logger.exception("unexpected error")
        return jsonify(error="internal error"), 500

    return app


app = create_app() if os.path.exists(MODEL_PATH) else None
