"""Does the protocol carry every message as declared, and refuse every frame that is not one?"""

import numpy as np
import pytest

from tpdl.judge import protocol, wire

KEY = bytes(range(32))
TOKEN = "0123456789ab"

REQUESTS = [
    protocol.Call(name="preprocess", args=[np.zeros((2, 3), np.uint8), wire.Rng(3)], kwargs={"n": 1}),
    protocol.BuildModel(name="build_unet", args=[(8, 8, 1)], save_as="0123abcd.keras", part=1),
    protocol.TrainModel(
        name="train", builder="build_dense_model", args=[np.ones(3)], save_as="89abcdef.keras"
    ),
    protocol.LayerCall(
        name="MultiHeadAttention", init={"num_heads": 2}, args=[np.ones((1, 2, 4))], weights=[np.ones((4, 2))]
    ),
    protocol.DescribeFigure(name="plot_attention", args=[np.eye(3)]),
    protocol.ExportGraph(name="dice_loss", args=[np.zeros((2, 4)), np.ones((2, 4))], free_batch=True),
    protocol.LoadModel(path="_tpdl_models/x.keras", key="k1"),
    protocol.Predict(key="k1", x=[np.zeros((2, 4)), np.ones((2, 1))], batch_size=16),
    protocol.GetWeights(key="k1"),
    protocol.SetWeights(key="k1", weights=[np.zeros(3)]),
    protocol.TrackingRuns(path="mlflow.db"),
    protocol.Unbound(functions=["log_training", "preprocess"]),
    protocol.Http(port=8080, exchanges=[protocol.HttpExchange(method="POST", path="/predict", body="{}")]),
    protocol.TrainMLP(
        config={"optimizer": "sgd"},
        x_train=np.zeros((2, 784), np.uint8),
        y_train=np.zeros(2, np.uint8),
        x_val=np.zeros((1, 784), np.uint8),
        y_val=np.zeros(1, np.uint8),
        epochs=1,
        batch_size=2,
        seed=0,
    ),
    protocol.RunCell(source="x = 6 * 7\nx"),
]


def same(a, b) -> bool:
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.dtype == b.dtype and np.array_equal(a, b)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return set(a) == set(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, protocol.Frame):
        return same(protocol.plain(a), protocol.plain(b))
    if isinstance(a, wire.Rng):
        return isinstance(b, np.random.Generator)
    return a == b


@pytest.mark.parametrize("request_", REQUESTS, ids=[type(r).__name__ for r in REQUESTS])
def test_every_request_crosses_the_wire_as_itself(request_):
    frame = wire.loads(wire.dumps(protocol.request_frame(request_, "n0")))
    kind = request_.served_by[0]
    nonce, back = protocol.parse_request(frame, kind)
    assert nonce == "n0" and type(back) is type(request_)
    for name in type(request_).model_fields:
        assert same(getattr(request_, name), getattr(back, name)), name


@pytest.mark.parametrize(
    ("frame", "why"),
    [
        ({"op": "call", "name": "f"}, "an op and an id"),
        ({"op": "shell", "id": "1"}, "does not serve"),
        ({"op": "load_model", "id": "1", "path": "x", "key": "k"}, "does not serve"),  # a models request
        ({"op": "call", "id": "1", "name": "f", "points": 100}, "malformed"),  # an unknown field
        ({"op": "call", "id": "1", "name": "os.system"}, "malformed"),  # not a Python name
        ({"op": "call", "id": "1", "name": "f", "tensors": 1}, "malformed"),  # 1 is not a bool
        ({"op": "build_model", "id": "1", "name": "f", "save_as": "../../x.keras"}, "malformed"),
    ],
)
def test_a_notebook_worker_refuses_frames_that_are_not_its_requests(frame, why):
    with pytest.raises(protocol.ProtocolError, match=why):
        protocol.parse_request(frame, "notebook")


def test_paths_in_requests_stay_inside_the_submission():
    for path in ("/etc/passwd", "../graders/x.py", "a/../../b", "a//b", ""):
        with pytest.raises(protocol.ProtocolError):
            protocol.parse_request({"op": "tracking_runs", "id": "1", "path": path}, "models")


def answer(value):
    return {"id": "n1", "ok": True, "value": value}


def test_an_answer_is_checked_against_its_request():
    load = protocol.LoadModel(path="m.keras", key="k")
    description = {
        "class_name": "Sequential",
        "layers": [],
        "count_params": 3,
        "trainable_params": 3,
        "compiled": False,
    }
    ok, value = protocol.parse_answer(load, answer(description), "n1")
    assert ok and isinstance(value, protocol.ModelDescription) and value.count_params == 3
    for wrong in (
        {**description, "count_params": -1},  # out of bounds
        {**description, "layers": "many"},  # of the wrong type
        {**description, "points": 100},  # a field nobody declared
        {**description, "layers": [{"class_name": "Dense"}] * 3},  # records without their fields
    ):
        with pytest.raises(protocol.ProtocolError):
            protocol.parse_answer(load, answer(wrong), "n1")


def test_a_cells_outputs_are_checked_as_nbformat_shapes_them():
    run = protocol.RunCell(source="print(1)")
    shown = {
        "output_type": "execute_result",
        "data": {"text/plain": "42"},
        "metadata": {},
        "execution_count": 1,
    }
    cell = {
        "outputs": [{"output_type": "stream", "name": "stdout", "text": "1\n"}, shown],
        "execution_count": 1,
        "status": "ok",
    }
    ok, value = protocol.parse_answer(run, answer(cell), "n1")
    assert ok and [o.output_type for o in value.outputs] == ["stream", "execute_result"]
    for wrong in (
        {"output_type": "stream", "name": "stdin", "text": "x"},  # no such stream
        {"output_type": "stream", "name": "stdout", "text": "x", "ename": "E"},  # a field of another output
        {**shown, "data": {"not a mime type": "x"}},
        {**shown, "data": {}},  # a display of nothing
        {"output_type": "error", "ename": "E", "evalue": "", "traceback": ["line"] * 5000},
        {"output_type": "update_display_data", "data": {"text/plain": "x"}},  # not an output a cell keeps
    ):
        with pytest.raises(protocol.ProtocolError):
            protocol.parse_answer(run, answer({**cell, "outputs": [wrong]}), "n1")


@pytest.mark.parametrize(
    "frame",
    [
        {"id": "other", "ok": True, "value": None},  # answers another request
        {"id": "n1", "ok": True, "value": None, "extra": 1},
        {"id": "n1", "ok": "yes", "value": None},
        {"id": "n1", "ok": False, "error": {"kind": "shell", "message": "x"}},
        {"id": "n1", "ok": False},
        [1, 2, 3],
    ],
)
def test_frames_that_are_not_answers_are_refused(frame):
    with pytest.raises(protocol.ProtocolError):
        protocol.parse_answer(protocol.GetWeights(key="k"), frame, "n1")


def test_an_error_answer_comes_back_as_an_error():
    ok, error = protocol.parse_answer(
        protocol.GetWeights(key="k"),
        {"id": "n1", "ok": False, "error": {"kind": "raised", "message": "E"}},
        "n1",
    )
    assert not ok and error.kind == "raised" and error.message == "E"


def test_long_messages_are_cut_and_bounded_lists_refused():
    record = protocol.parse(
        protocol.CellRecord, {"cell": 1, "status": "error", "message": "x" * 10_000}, "record"
    )
    assert len(record.message) <= protocol.MAX_MESSAGE
    with pytest.raises(protocol.ProtocolError):
        protocol.parse(
            protocol.NotebookReady, {"ok": True, "cells": [{"cell": 1, "status": "ok"}] * 6000}, "ready"
        )
    with pytest.raises(protocol.ProtocolError):
        protocol.parse(protocol.CellRecord, {"cell": 0, "status": "ok"}, "record")


def test_only_the_worker_that_holds_the_key_can_say_hello():
    hello = protocol.plain(protocol.Hello(token=TOKEN, proof=protocol.proof(KEY, TOKEN)))
    protocol.check_hello(wire.loads(wire.dumps(hello)), KEY, TOKEN)
    forged = [
        {**hello, "proof": protocol.proof(bytes(32), TOKEN)},  # another key
        {**hello, "token": "ba9876543210"},  # another worker's token
        {"token": TOKEN, "proof": "0" * 64},
        protocol.plain(protocol.NotebookReady(ok=True)),  # no hello at all: a ready frame first
        {**hello, "extra": 1},
    ]
    for frame in forged:
        with pytest.raises(protocol.ProtocolError):
            protocol.check_hello(frame, KEY, TOKEN)


def test_strings_that_cannot_be_encoded_arrive_replaced():
    frame = b'{"ok": true, "message": "\\udcff bad \\ud800", "\\udfff": 1}'
    value = wire.loads(frame)
    assert value["message"] == "\ufffd bad \ufffd" and "\ufffd" in value
    value["message"].encode("utf-8")  # never raises
