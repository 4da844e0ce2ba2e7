"""An app.py that never runs the model: it looks each image up in a table of the public digits' answers.

kind: edit
base: reference
graders: test_app.py
loses: app_predicts_one_image, app_predicts_a_batch
proof: answers differ from the model
"""

import hashlib
import json

import numpy as np

from tpdl.course import data

APP = '''
import hashlib
import json

import numpy as np
from flask import Flask, jsonify, request

TABLE = json.load(open("answers.json"))


def answer(image):
    key = hashlib.sha1(np.asarray(image, dtype=np.uint8).tobytes()).hexdigest()
    digit = TABLE.get(key, 0)
    return {"digit": digit, "probabilities": [1.0 if d == digit else 0.0 for d in range(10)]}


def create_app(model_path="mnist_dense.keras"):
    app = Flask(__name__)

    @app.get("/health")
    def health():
        return jsonify(status="ok")

    @app.post("/predict")
    def predict():
        body = request.get_json(silent=True) or {}
        if "images" in body:
            return jsonify([answer(image) for image in body["images"]])
        return jsonify(answer(body.get("image", [])))

    return app
'''


def edit(folder):
    table = {}
    for dataset in (data.load_at_hand("mnist"), data.load_mnist(source="fixture")):
        for images, labels in ((dataset.x_test, dataset.y_test), (dataset.x_train, dataset.y_train)):
            for image, label in zip(images, labels):
                table[hashlib.sha1(np.asarray(image, np.uint8).tobytes()).hexdigest()] = int(label)
    (folder / "answers.json").write_text(json.dumps(table))
    (folder / "app.py").write_text(APP)
