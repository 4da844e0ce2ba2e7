"""Plain data between the judge and a worker: JSON with arrays as base64, length-prefixed frames.

Only ``None``, ``bool``, ``int``, ``float``, ``str``, lists, tuples, dicts (keyed by any of these
scalars or tuples of them: an optimiser's state keyed by parameter index crosses), NumPy arrays
of numeric or boolean dtype cross, and four named forms: an :class:`Rng` seed arrives
as a fresh ``np.random.Generator``; a ``tpdl.course.budget.Budget`` as itself; a :class:`Call` as a
description of a call that the notebook worker makes (to a student's function) and whose result
it passes on, so that a grader can give one function what another returned (a model to train);
a :class:`Probe` as the description of one of the kit's probe models (``tpdl.course.videos``), which
the worker builds, so that a grader can hand a student's function models whose every weight it
knows. Decoding never unpickles nor executes anything; a frame larger than the limit or of any
other shape is refused.
"""

import base64
import json
import math
import re
import socket
import struct
import time

import numpy as np

from tpdl.course.budget import NAMES as BUDGET_NAMES
from tpdl.course.budget import Budget

MAX_FRAME_BYTES = 64 * 2**20
ALLOWED_DTYPES = frozenset(
    [
        "bool",
        "uint8",
        "int8",
        "uint16",
        "int16",
        "uint32",
        "int32",
        "uint64",
        "int64",
        "float16",
        "float32",
        "float64",
    ]
)
_HEADER = struct.Struct(">Q")
_SURROGATE = re.compile("[\ud800-\udfff]")


PROBE_PARTS = ("encoder", "step", "decoder")


class WireError(ValueError):
    """A frame that is not plain data of the agreed form."""


class Rng:
    """A random generator to send: it arrives as ``np.random.default_rng(seed)``."""

    def __init__(self, seed: int):
        if type(seed) is not int or not 0 <= seed < 2**63:
            raise WireError("an Rng seed is an int in [0, 2**63)")
        self.seed = seed

    def __repr__(self) -> str:
        return f"Rng({self.seed})"


class Call:
    """The result of calling the student's function ``name`` with plain arguments, made in the worker."""

    def __init__(self, name: str, *args, **kwargs):
        if not isinstance(name, str) or not name.isidentifier():
            raise WireError("a Call names a function")
        self.name, self.args, self.kwargs = name, list(args), dict(kwargs)

    def __repr__(self) -> str:
        return f"Call({self.name!r})"


class Probe:
    """One of the kit's probe models, ``tpdl.course.videos.probe_model(part, **options)``, built in the
    worker."""

    def __init__(self, part: str, **options):
        if part not in PROBE_PARTS:
            raise WireError(f"a Probe is one of {', '.join(PROBE_PARTS)}")
        if not all(type(v) is int for v in options.values()):
            raise WireError("a Probe's options are integers")
        self.part, self.options = part, dict(options)

    def __repr__(self) -> str:
        return f"Probe({self.part!r})"


def encode(value):
    """A JSON-ready copy of ``value`` (arrays, tuples and non-finite floats tagged)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, np.bool_):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else {"__float__": repr(value)}
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray) or hasattr(value, "__array__"):
        array = np.asarray(value)  # tobytes() writes C order; a 0-d array stays 0-d
        if array.dtype.name not in ALLOWED_DTYPES:
            raise WireError(f"arrays of dtype {array.dtype} cannot be sent")
        data = base64.b64encode(array.tobytes()).decode("ascii")
        return {"__ndarray__": {"dtype": array.dtype.name, "shape": list(array.shape), "data": data}}
    if isinstance(value, Rng):
        return {"__rng__": value.seed}
    if isinstance(value, Budget):
        return {"__budget__": value.name}
    if isinstance(value, Call):
        return {"__call__": {"name": value.name, "args": encode(value.args), "kwargs": encode(value.kwargs)}}
    if isinstance(value, Probe):
        return {"__probe__": {"part": value.part, "options": value.options}}
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v) for v in value]}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        if all(isinstance(k, str) and not _reserved(k) for k in value):
            return {k: encode(v) for k, v in value.items()}
        # Other keys (ints, tuples, names of the reserved form) travel as a list of pairs.
        if not all(_plain_key(k) for k in value):
            raise WireError("dict keys can be None, bools, numbers, strings or tuples of them")
        return {"__mapping__": [[encode(k), encode(v)] for k, v in value.items()]}
    raise WireError(f"a value of type {type(value).__name__} cannot be sent")


def _reserved(key: str) -> bool:
    return key.startswith("__") and key.endswith("__")


def _plain_key(key) -> bool:
    if isinstance(key, tuple):
        return all(_plain_key(k) for k in key)
    return key is None or isinstance(key, (bool, int, float, str, np.integer, np.floating, np.bool_))


def _decode_mapping(pairs) -> dict:
    if type(pairs) is not list or not all(type(p) is list and len(p) == 2 for p in pairs):
        raise WireError("malformed mapping")
    mapping = {}
    for raw_key, raw_value in pairs:
        key = decode(raw_key)
        if not _plain_key(key):
            raise WireError("malformed mapping key")
        mapping[key] = decode(raw_value)
    return mapping


def _decode_array(spec) -> np.ndarray:
    if not isinstance(spec, dict) or set(spec) != {"dtype", "shape", "data"}:
        raise WireError("malformed array")
    dtype, shape, data = spec["dtype"], spec["shape"], spec["data"]
    if dtype not in ALLOWED_DTYPES:
        raise WireError(f"array dtype {dtype!r} refused")
    if not isinstance(shape, list) or not all(type(n) is int and n >= 0 for n in shape):
        raise WireError("malformed array shape")
    if not isinstance(data, str):
        raise WireError("malformed array data")
    raw = base64.b64decode(data.encode("ascii"), validate=True)
    count = math.prod(shape)
    if len(raw) != count * np.dtype(dtype).itemsize:
        raise WireError("array data does not match its shape")
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


def _encodable(text: str) -> str:
    """``text``, its lone surrogates (JSON can carry them, UTF-8 cannot) replaced by U+FFFD."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", text)
    return text


def decode(value):
    """The Python value of a JSON-decoded frame; every array is a fresh, plain ``np.ndarray``, every
    string one that can be encoded."""
    if type(value) is str:
        return _encodable(value)
    if value is None or type(value) in (bool, int, float):
        return value
    if type(value) is list:
        return [decode(v) for v in value]
    if type(value) is dict:
        if len(value) == 1:
            ((key, inner),) = value.items()
            if key == "__ndarray__":
                return _decode_array(inner)
            if key == "__tuple__":
                if type(inner) is not list:
                    raise WireError("malformed tuple")
                return tuple(decode(v) for v in inner)
            if key == "__rng__":
                if type(inner) is not int or not 0 <= inner < 2**63:
                    raise WireError("malformed random generator seed")
                return np.random.default_rng(inner)
            if key == "__budget__":
                if inner not in BUDGET_NAMES:
                    raise WireError("malformed budget")
                return Budget(inner)
            if key == "__call__":
                if type(inner) is not dict or set(inner) != {"name", "args", "kwargs"}:
                    raise WireError("malformed call")
                args, kwargs = decode(inner["args"]), decode(inner["kwargs"])
                if type(inner["name"]) is not str or type(args) is not list or type(kwargs) is not dict:
                    raise WireError("malformed call")
                return Call(inner["name"], *args, **kwargs)
            if key == "__probe__":
                if (
                    type(inner) is not dict
                    or set(inner) != {"part", "options"}
                    or type(inner["options"]) is not dict
                ):
                    raise WireError("malformed probe")
                return Probe(inner["part"], **inner["options"])
            if key == "__mapping__":
                return _decode_mapping(inner)
            if key == "__float__":
                if inner not in ("nan", "inf", "-inf"):
                    raise WireError("malformed float")
                return float(inner)
        if any(_reserved(k) for k in value):
            raise WireError("unknown tagged value")
        return {_encodable(k): decode(v) for k, v in value.items()}
    raise WireError(f"unexpected JSON value of type {type(value).__name__}")


def dumps(value) -> bytes:
    return json.dumps(encode(value), allow_nan=False, separators=(",", ":")).encode()


def loads(data: bytes):
    try:
        return decode(json.loads(data))
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError, ValueError) as error:
        if isinstance(error, WireError):
            raise
        raise WireError(f"frame is not valid JSON plain data: {error}") from None


def send(sock: socket.socket, value) -> None:
    """Send one frame."""
    payload = dumps(value)
    if len(payload) > MAX_FRAME_BYTES:
        raise WireError(f"frame of {len(payload)} bytes exceeds the {MAX_FRAME_BYTES}-byte limit")
    sock.sendall(_HEADER.pack(len(payload)) + payload)


def _recv_exact(sock: socket.socket, n: int, deadline: float | None) -> bytes:
    chunks, got = [], 0
    while got < n:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no complete answer before the deadline")
            sock.settimeout(left)
        chunk = sock.recv(min(n - got, 1 << 20))
        if not chunk:
            raise EOFError("the connection closed")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def recv(sock: socket.socket, deadline: float | None = None):
    """Receive one frame, whole before ``deadline`` (a ``time.monotonic()`` value) if given."""
    (length,) = _HEADER.unpack(_recv_exact(sock, _HEADER.size, deadline))
    if length > MAX_FRAME_BYTES:
        raise WireError(f"frame of {length} bytes exceeds the {MAX_FRAME_BYTES}-byte limit")
    return loads(_recv_exact(sock, length, deadline))
