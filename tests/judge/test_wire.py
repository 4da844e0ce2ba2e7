"""Does the judge's codec carry plain data only, and refuse everything else?"""

import base64
import pickle
import socket
import struct

import numpy as np
import pytest

from tpdl.judge import wire


@pytest.mark.parametrize("dtype", sorted(wire.ALLOWED_DTYPES))
def test_arrays_of_every_allowed_dtype_round_trip(dtype):
    array = (np.arange(24) % 7).astype(dtype).reshape(2, 3, 4)
    back = wire.loads(wire.dumps(array))
    assert type(back) is np.ndarray and back.dtype == array.dtype and np.array_equal(back, array)


def test_scalar_and_strided_arrays_keep_their_shape():
    scalar, strided = np.array(0.25, np.float32), np.arange(12.0).reshape(3, 4).T  # 0-d; Fortran order
    back_scalar, back_strided = wire.loads(wire.dumps([scalar, strided]))
    assert back_scalar.shape == () and back_scalar == np.float32(0.25)
    assert back_strided.shape == (4, 3) and np.array_equal(back_strided, strided)


def test_nested_values_round_trip():
    value = {"a": [1, 2.5, None, True, "s"], "t": (np.zeros(3, np.float32), 4), "nan": float("nan")}
    back = wire.loads(wire.dumps(value))
    assert back["a"] == [1, 2.5, None, True, "s"]
    assert isinstance(back["t"], tuple) and back["t"][1] == 4
    assert np.isnan(back["nan"])


def test_a_seed_arrives_as_a_fresh_random_generator():
    first, second = wire.loads(wire.dumps([wire.Rng(7), wire.Rng(7)]))
    assert isinstance(first, np.random.Generator) and first is not second
    assert first.random() == second.random() == np.random.default_rng(7).random()


def test_budgets_and_calls_cross_as_themselves():
    from tpdl.course.budget import Budget

    budget, call = wire.loads(wire.dumps([Budget("ci"), wire.Call("train", np.ones(2), epochs=1)]))
    assert budget == Budget("ci")
    assert isinstance(call, wire.Call) and call.name == "train" and call.kwargs == {"epochs": 1}
    assert np.array_equal(call.args[0], np.ones(2))


def test_probes_cross_as_themselves_and_only_known_ones():
    probe = wire.loads(wire.dumps(wire.Probe("step", seed=3, window=2)))
    assert (
        isinstance(probe, wire.Probe) and probe.part == "step" and probe.options == {"seed": 3, "window": 2}
    )
    with pytest.raises(wire.WireError):
        wire.Probe("os.system")
    with pytest.raises(wire.WireError):
        wire.Probe("step", seed="3")


def test_array_subclasses_arrive_as_plain_arrays():
    class Sub(np.ndarray):
        pass

    back = wire.loads(wire.dumps(np.ones(3).view(Sub)))
    assert type(back) is np.ndarray


@pytest.mark.parametrize(
    "value", [np.array([object()]), {object(): "object key"}, {(1, 3j): 1}, object(), b"bytes", {1, 2}]
)
def test_encoding_refuses_what_is_not_plain_data(value):
    with pytest.raises(wire.WireError):
        wire.dumps(value)


PICKLED = base64.b64encode(pickle.dumps([1, 2])).decode()


@pytest.mark.parametrize(
    "frame",
    [
        b'{"__ndarray__": {"dtype": "object", "shape": [1], "data": "%s"}}' % PICKLED.encode(),
        b'{"__ndarray__": {"dtype": "float64", "shape": [2], "data": "AAAA"}}',
        b'{"__ndarray__": {"dtype": "float64", "shape": [-1], "data": ""}}',
        b'{"__pickle__": "%s"}' % PICKLED.encode(),
        b'{"__float__": "__import__(\'os\')"}',
        b'{"__tuple__": {"a": 1}}',
        b'{"__rng__": -1}',
        b'{"__budget__": "huge"}',
        b'{"__call__": {"name": 1, "args": [], "kwargs": {}}}',
        b'{"__probe__": {"part": "subprocess", "options": {}}}',
        b'{"__probe__": {"part": "step", "options": {"seed": "__import__"}}}',
        b'{"__rng__": "12"}',
        pickle.dumps({"ok": True}),
        b"not json",
        b"[" * 100000 + b"]" * 100000,
    ],
    ids=[
        "object-dtype",
        "short-data",
        "negative-shape",
        "unknown-tag",
        "float-expression",
        "bad-tuple",
        "negative-seed",
        "unknown-budget",
        "call-without-name",
        "unknown-probe",
        "probe-with-a-string-option",
        "string-seed",
        "raw-pickle",
        "not-json",
        "deep-nesting",
    ],
)
def test_decoding_refuses_crafted_frames(frame):
    with pytest.raises(wire.WireError):
        wire.loads(frame)


def test_an_oversized_frame_is_refused_before_it_is_read():
    left, right = socket.socketpair()
    with left, right:
        left.sendall(struct.pack(">Q", wire.MAX_FRAME_BYTES + 1))
        with pytest.raises(wire.WireError):
            wire.recv(right)


def test_a_frame_must_arrive_before_its_deadline():
    import time

    left, right = socket.socketpair()
    with left, right:
        left.sendall(struct.pack(">Q", 10) + b"[1")  # the rest never comes
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            wire.recv(right, deadline=time.monotonic() + 0.3)
        assert time.monotonic() - started < 2


def test_dicts_keyed_by_numbers_tuples_or_reserved_names_cross():
    """An optimiser's state keyed by parameter index is what the spec allows: it must cross."""
    state = {0: {"m": np.zeros(3)}, 1: {"m": np.ones(2)}, (2, "b"): 1.5, "__t__": 3, None: [True]}
    back = wire.loads(wire.dumps(state))
    assert set(back) == set(state) and back["__t__"] == 3 and back[(2, "b")] == 1.5
    assert np.array_equal(back[1]["m"], np.ones(2)) and back[None] == [True]
    with pytest.raises(wire.WireError):
        wire.dumps({frozenset(): 1})
    with pytest.raises(wire.WireError):
        wire.loads(
            b'{"__mapping__": [[{"__ndarray__": {"dtype": "int8", "shape": [1], "data": "AA=="}}, 1]]}'
        )
