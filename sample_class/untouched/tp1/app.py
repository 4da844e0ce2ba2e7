"""TP1's digit classifier as a REST API, served by gunicorn.

    MODEL_PATH=mnist_dense.keras gunicorn --bind 127.0.0.1:8000 app:app

* ``GET /health`` answers ``{"status": "ok"}``;
* ``POST /predict`` takes JSON ``{"image": [[28 rows of 28 numbers 0-255]]}``, JSON
  ``{"images": [image, ...]}`` (at most ``MAX_BATCH``), or a 28x28 greyscale PNG (the raw body
  with ``Content-Type: image/png``, or a form field ``image``), and answers
  ``{"digit": int, "probabilities": [10 floats]}``, a list of them for a batch.

Bad input gets a 4xx answer ``{"error": "..."}`` that says what was wrong.
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
    # YOUR CODE HERE
    raise NotImplementedError()


def _png(data: bytes) -> np.ndarray:
    """A 28x28 greyscale PNG as float32 pixels, or :class:`BadInput`."""
    # YOUR CODE HERE
    raise NotImplementedError()


def images_from_request() -> tuple[np.ndarray, bool]:
    """The images of the current request as an (N, 28, 28) array, and whether it was a batch."""
    # YOUR CODE HERE
    raise NotImplementedError()


def create_app(model_path: str = MODEL_PATH) -> Flask:
    """The Flask application serving the model saved in ``model_path`` (loaded once, here)."""
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES
    # Load the model (once), then declare GET /health, POST /predict (with images_from_request),
    # and error handlers that answer JSON {"error": ...} with a 4xx status (see the module docstring).
    # YOUR CODE HERE
    raise NotImplementedError()
    return app


app = create_app() if os.path.exists(MODEL_PATH) else None
