"""Every message between the judge and a sandboxed worker, declared once and checked on receipt.

A conversation with a worker goes:

1. the worker connects to the socket the judge made for it and sends :class:`Hello`, proving with
   an HMAC of its token, under a key that only the zygote and this worker ever held, that it is
   the process the judge asked for; nothing else it sends is read before that proof;
2. it sends one ready frame (:class:`NotebookReady` after running the notebook, :class:`ServiceReady`
   with its port, or :class:`Ready`);
3. the judge sends requests, each a frame ``{"op": ..., "id": NONCE, ...fields}``, and the worker
   answers each with ``{"id": NONCE, "ok": true, "value": ...}`` or
   ``{"id": NONCE, "ok": false, "error": {"kind": ..., "message": ...}}``.

Each request class names the worker kinds that serve it and the type of its answer; both sides
validate what they receive against these declarations (types, sizes, ranges) before using it.
Frames are plain data (:mod:`tpdl.judge.wire`), so a string that cannot be encoded has already been
replaced when it gets here. Adding a request means one class here and one handler on each side.
"""

import hashlib
import hmac
import json
import math
import re
from typing import Annotated, Any, ClassVar, Literal, get_args

import numpy as np
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    TypeAdapter,
    ValidationError,
    model_validator,
)

MAX_MESSAGE = 600  # characters of an error message or a cell's error
MAX_NAME = 200  # characters of a name (a function, a layer, a class, a metric)
MAX_TEXT = 2000  # characters of a label, a tick, an HTTP header value
MAX_BODY = 2 * 2**20  # characters of an HTTP body read back
MAX_LAYERS = 5000
MAX_CELLS = 5000
MAX_FUNCTIONS = 200  # functions of a notebook asked about at once
MAX_UNBOUND = 50  # names one function lacks, reported
MAX_RUNS = 200
ErrorKind = Literal["raised", "missing", "type", "protocol", "unsendable", "unreadable"]
ERROR_KINDS = get_args(ErrorKind)


class ProtocolError(ValueError):
    """A frame that is not a message of this protocol (its text says what was wrong)."""


def _truncated(limit: int):
    return AfterValidator(lambda text: text if len(text) <= limit else text[: limit - 1] + "…")


def _identifier(text: str) -> str:
    if not text.isidentifier():
        raise ValueError(f"{text[:40]!r} is not a Python name")
    return text


def _relative_path(text: str) -> str:
    parts = text.split("/")
    if not text or text.startswith("/") or "\x00" in text or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"{text[:80]!r} is not a relative path inside the submission")
    return text


Message = Annotated[str, _truncated(MAX_MESSAGE)]
Label = Annotated[str, _truncated(MAX_TEXT)]
Name = Annotated[str, Field(max_length=MAX_NAME), AfterValidator(_identifier)]
Key = Annotated[str, Field(min_length=1, max_length=64)]
RelativePath = Annotated[str, Field(max_length=1000), AfterValidator(_relative_path)]
Shape = list[int | None]
Plain = Any  # what a student's function returned: plain data, already refused by the codec otherwise


class Frame(BaseModel):
    """A message: its fields have exactly the declared types; nothing else is accepted."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, arbitrary_types_allowed=True)


# --------------------------------------------------------------------------- records in answers


class ErrorInfo(Frame):
    kind: ErrorKind
    message: Message


class CellRecord(Frame):
    """What happened to one code cell of the notebook when the worker ran it."""

    cell: int = Field(ge=1, le=100_000)
    status: Literal["ok", "error", "skipped"]
    kind: Annotated[str, Field(max_length=40)] = ""
    message: Message = ""


class LayerDescription(Frame):
    class_name: Label
    name: Label
    config: dict[str, Any]
    inbound: list[Label] = Field(max_length=MAX_LAYERS)
    output_shape: Any = None  # a shape, a list of shapes, or None


class ModelDescription(Frame):
    """The facts graders check about a saved model (see ``tpdl.judge.worker.models.describe_model``)."""

    class_name: Label
    layers: list[LayerDescription] = Field(max_length=MAX_LAYERS)
    count_params: int = Field(ge=0)
    trainable_params: int = Field(ge=0)
    input_shape: Any = None
    output_shape: Any = None
    compiled: bool
    optimizer: Label | None = None
    loss: Label | None = None
    metrics: list[Label] = Field(default_factory=list, max_length=64)  # names of the compiled metrics
    compile_error: Message | None = None


class AxesDescription(Frame):
    images: list[np.ndarray] = Field(max_length=50)
    colorbar: bool
    title: Label
    xlabel: Label
    ylabel: Label
    xticklabels: list[Label] = Field(max_length=1000)
    yticklabels: list[Label] = Field(max_length=1000)


class FigureDescription(Frame):
    axes: list[AxesDescription] = Field(max_length=100)


class History(Frame):
    """A Keras ``History``: metric name -> one value per epoch, and the epochs."""

    history: dict[Label, list[float]]
    epoch: list[int] = Field(max_length=100_000)


class LayerOutputs(Frame):
    outputs: np.ndarray | list[np.ndarray]
    weight_shapes: list[list[int]] = Field(max_length=10_000)


class CallValue(Frame):
    """What a student's function returned and, when asked, its arguments as the call left them."""

    value: Plain = None
    args: list[Plain] | None = None
    kwargs: dict[str, Plain] | None = None


class UnboundNames(Frame):
    """For each function asked about, the global names it (or a function of the notebook it calls) reads
    that the notebook's namespace lacks."""

    names: dict[Name, Annotated[list[Name], Field(max_length=MAX_UNBOUND)]] = Field(
        default={}, max_length=MAX_FUNCTIONS
    )


class Graph(Frame):
    """A student's function traced into a TensorFlow graph: the serialised ``GraphDef`` and the names
    of its input placeholders and of its output tensor."""

    graph_def: np.ndarray  # uint8
    inputs: list[Label] = Field(min_length=1, max_length=16)
    output: Label


class GradientValue(Frame):
    value: np.ndarray
    gradient: np.ndarray | None


class ProbeFit(Frame):
    """A probe trained with a student's loss by the kit's own loop: its history and weights."""

    history: dict[Label, list[float]]
    weights: list[np.ndarray] = Field(max_length=16)


class RunRecord(Frame):
    """One run of an MLflow store, read with SQLite by a worker that runs no student code."""

    run_id: Label
    name: Label
    status: Label
    experiment: Label
    experiment_id: Label
    start_time: int | None
    end_time: int | None
    params: dict[Label, Label]
    metrics: dict[Label, list[tuple[int, float]]]


class TrackingStore(Frame):
    runs: list[RunRecord] = Field(max_length=MAX_RUNS)


class HttpAnswer(Frame):
    status: int | None = Field(default=None, ge=100, le=999)
    content_type: Label = ""
    body: Annotated[str, Field(max_length=MAX_BODY + 1)] = ""
    truncated: bool = False
    seconds: float = Field(default=0.0, ge=0.0)
    error: Message = ""


class HttpExchange(Frame):
    method: Annotated[str, Field(pattern=r"^[A-Z]{1,10}$")]
    path: Annotated[str, Field(max_length=4000, pattern=r"^/")]
    body: str | np.ndarray | None = None
    headers: dict[Label, Label] = {}
    timeout_s: float = Field(default=30.0, gt=0, le=600)


# --------------------------------------------------------------------------- frames a worker starts with


class Hello(Frame):
    """A worker's first frame: its token, and the proof that it holds the key it was started with."""

    token: Annotated[str, Field(pattern=r"^[0-9a-f]{12}$")]
    proof: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class NotebookReady(Frame):
    ok: bool
    cells: list[CellRecord] = Field(default=[], max_length=MAX_CELLS)
    error: ErrorInfo | None = None


class ServiceReady(Frame):
    port: int = Field(ge=1, le=65535)


class Ready(Frame):
    pass


def proof(key: bytes, token: str) -> str:
    """The HMAC a worker started with ``key`` sends in its :class:`Hello`."""
    return hmac.new(key, f"tpdl-worker:{token}".encode(), hashlib.sha256).hexdigest()


def check_hello(frame, key: bytes, token: str) -> None:
    """Refuse a first frame that is not this worker's :class:`Hello`."""
    hello = parse(Hello, frame, "hello")
    if hello.token != token or not hmac.compare_digest(hello.proof, proof(key, token)):
        raise ProtocolError("the first frame does not prove it comes from the worker started")


# --------------------------------------------------------------------------- requests


class Request(Frame):
    """A request of the judge; ``op`` names it on the wire, ``answer`` is the type of its answer."""

    op: ClassVar[str]
    served_by: ClassVar[tuple[str, ...]]
    answer: ClassVar[Any]


class Call(Request):
    """Call the student's function ``name`` with the judge's arguments (see ``tpdl.judge.wire`` for
    the forms that arrive as calls, generators and probes)."""

    op: ClassVar[str] = "call"
    served_by: ClassVar[tuple[str, ...]] = ("notebook",)
    answer: ClassVar[Any] = CallValue
    name: Name
    args: list[Plain] = []
    kwargs: dict[str, Plain] = {}
    tensors: bool = False  # arrays given as the backend's tensors
    return_inputs: bool = False
    discard_value: bool = False  # only whether it raised matters (a refusal check): nothing comes back


class BuildModel(Request):
    """Call a function that returns a model (or a block of layers, or several models) and save it."""

    op: ClassVar[str] = "build_model"
    served_by: ClassVar[tuple[str, ...]] = ("notebook",)
    answer: ClassVar[Any] = RelativePath
    name: Name
    args: list[Plain] = []
    kwargs: dict[str, Plain] = {}
    save_as: Annotated[str, Field(pattern=r"^[0-9a-f]{8}\.keras$")]
    part: int | None = Field(default=None, ge=0, le=16)  # one model of several it returns
    symbolic_inputs: list[Shape] | None = Field(default=None, max_length=16)  # a block applied to keras.Input


class TrainModel(Request):
    """Call ``name(builder(), *args)``; save the model it trained; answer the History it returned."""

    op: ClassVar[str] = "train_model"
    served_by: ClassVar[tuple[str, ...]] = ("notebook",)
    answer: ClassVar[Any] = History
    name: Name
    builder: Name
    args: list[Plain] = []
    kwargs: dict[str, Plain] = {}
    save_as: Annotated[str, Field(pattern=r"^[0-9a-f]{8}\.keras$")]


class LayerCall(Request):
    """Make the student's layer ``name(**init)``, call it (with the judge's weights, if given)."""

    op: ClassVar[str] = "layer_call"
    served_by: ClassVar[tuple[str, ...]] = ("notebook",)
    answer: ClassVar[Any] = LayerOutputs
    name: Name
    init: dict[str, Plain] = {}
    args: list[Plain] = []
    kwargs: dict[str, Plain] = {}
    weights: list[np.ndarray] | None = None


class DescribeFigure(Request):
    """Call a function that returns a matplotlib Figure; answer what the figure shows."""

    op: ClassVar[str] = "describe_figure"
    served_by: ClassVar[tuple[str, ...]] = ("notebook",)
    answer: ClassVar[Any] = FigureDescription
    name: Name
    args: list[Plain] = []
    kwargs: dict[str, Plain] = {}


class ExportGraph(Request):
    """Trace the student's function on tensors of these shapes (``None`` axes stay free) into a graph.

    ``args`` are arrays (they give each input's dtype and shape) and ``kwargs`` constants; with
    ``free_batch`` the first axis of every input is left free, as inside ``model.fit``.
    """

    op: ClassVar[str] = "export_graph"
    served_by: ClassVar[tuple[str, ...]] = ("notebook",)
    answer: ClassVar[Any] = Graph
    name: Name
    args: list[np.ndarray] = Field(min_length=1, max_length=16)
    kwargs: dict[str, Plain] = {}
    free_batch: bool = False


class LoadModel(Request):
    """Load a saved Keras model of the submission with ``safe_mode=True``; keep it under ``key``."""

    op: ClassVar[str] = "load_model"
    served_by: ClassVar[tuple[str, ...]] = ("models",)
    answer: ClassVar[Any] = ModelDescription
    path: RelativePath
    key: Key


class Predict(Request):
    op: ClassVar[str] = "predict"
    served_by: ClassVar[tuple[str, ...]] = ("models",)
    answer: ClassVar[Any] = np.ndarray | list[np.ndarray]
    key: Key
    x: np.ndarray | list[np.ndarray]
    batch_size: int = Field(default=256, ge=1, le=100_000)


class GetWeights(Request):
    op: ClassVar[str] = "get_weights"
    served_by: ClassVar[tuple[str, ...]] = ("models",)
    answer: ClassVar[Any] = list[np.ndarray]
    key: Key


class SetWeights(Request):
    op: ClassVar[str] = "set_weights"
    served_by: ClassVar[tuple[str, ...]] = ("models",)
    answer: ClassVar[Any] = None
    key: Key
    weights: list[np.ndarray]


class TrackingRuns(Request):
    """Read an MLflow SQLite store of the submission (or one a call wrote) into plain records."""

    op: ClassVar[str] = "tracking_runs"
    served_by: ClassVar[tuple[str, ...]] = ("models",)
    answer: ClassVar[Any] = TrackingStore
    path: RelativePath


class Http(Request):
    """Send HTTP requests to a service worker of the same jail, one after the other."""

    op: ClassVar[str] = "http"
    served_by: ClassVar[tuple[str, ...]] = ("models",)
    answer: ClassVar[Any] = list[HttpAnswer]
    port: int = Field(ge=1, le=65535)
    exchanges: list[HttpExchange] = Field(min_length=1, max_length=1000)


class TrainMLP(Request):
    """Train the kit's MLP (``tpdl.course.experiments.build_mlp``) as TP2's experiment does: the judge's own
    run of a configuration, to compare with what a student's code or store claims."""

    op: ClassVar[str] = "train_mlp"
    served_by: ClassVar[tuple[str, ...]] = ("models",)
    answer: ClassVar[Any] = History
    config: dict[str, Plain]
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    epochs: int = Field(ge=1, le=100)
    batch_size: int = Field(ge=1, le=100_000)
    seed: int = Field(ge=0, le=2**31)


class GraphGradient(Request):
    """Evaluate a traced graph on the judge's inputs; answer its value and the gradient of its sum
    with respect to input ``index`` (None where nothing differentiable connects them)."""

    op: ClassVar[str] = "graph_gradient"
    served_by: ClassVar[tuple[str, ...]] = ("graphs",)
    answer: ClassVar[Any] = GradientValue
    graph: Graph
    args: list[np.ndarray] = Field(min_length=1, max_length=16)
    index: int = Field(ge=0, le=15)


class GraphFit(Request):
    """Train a one-convolution sigmoid probe on ``(x, y)`` with the kit's own loop, the loss (None:
    binary cross-entropy) and metrics being traced graphs of the student's functions."""

    op: ClassVar[str] = "graph_fit"
    served_by: ClassVar[tuple[str, ...]] = ("graphs",)
    answer: ClassVar[Any] = ProbeFit
    loss: Graph | None
    metrics: dict[Name, Graph] = Field(default={}, max_length=8)
    x: np.ndarray
    y: np.ndarray
    epochs: int = Field(ge=1, le=100)
    batch_size: int = Field(default=8, ge=1, le=1024)
    learning_rate: float = Field(default=0.05, gt=0, le=10)
    seed: int = Field(default=0, ge=0, le=2**31)


# --------------------------------------------------------------------------- a plain nbgrader notebook
#
# The ``cells`` worker (``tpdl.judge.cells``) runs a notebook cell by cell as a Jupyter kernel would; each
# answer holds one cell's outputs in nbformat's shapes, which nbgrader grades.

MAX_OUTPUTS = 1000  # outputs of one cell
MAX_OUTPUT_TEXT = 4 * 2**20  # characters of one cell's source, or of its outputs together
MAX_TRACEBACK = 1000  # lines of a traceback
MIME_TYPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]{0,126}")
OutputText = Annotated[str, Field(max_length=MAX_OUTPUT_TEXT)]
MimeType = Annotated[str, Field(pattern=MIME_TYPE.pattern)]


class StreamOutput(Frame):
    output_type: Literal["stream"]
    name: Literal["stdout", "stderr"]
    text: OutputText


class DisplayOutput(Frame):
    """A rich display (``display_data``) or the shown value of a cell's last expression
    (``execute_result``)."""

    output_type: Literal["display_data", "execute_result"]
    data: dict[MimeType, JsonValue] = Field(min_length=1, max_length=64)
    metadata: dict[Annotated[str, Field(max_length=MAX_NAME)], JsonValue] = Field(default={}, max_length=64)
    execution_count: int | None = Field(default=None, ge=0)


class ErrorOutput(Frame):
    output_type: Literal["error"]
    ename: Label
    evalue: OutputText
    traceback: list[OutputText] = Field(max_length=MAX_TRACEBACK)


CellOutput = Annotated[StreamOutput | DisplayOutput | ErrorOutput, Field(discriminator="output_type")]


class CellRun(Frame):
    """What one cell did, as a Jupyter kernel tells it: its outputs, and its reply (``ok``, or the
    error it raised, whether the shell showed it or not)."""

    outputs: list[CellOutput] = Field(max_length=MAX_OUTPUTS)
    execution_count: int = Field(ge=0)
    status: Literal["ok", "error"]
    ename: Label = ""
    evalue: OutputText = ""
    traceback: list[OutputText] = Field(default=[], max_length=MAX_TRACEBACK)


class Unbound(Request):
    """Which global names the student's functions ``functions`` read that the notebook's run lacks
    (``tpdl.judge.judge_state.unbound``): names only a cell skipped at grading binds."""

    op: ClassVar[str] = "unbound"
    served_by: ClassVar[tuple[str, ...]] = ("notebook",)
    answer: ClassVar[Any] = UnboundNames
    functions: list[Name] = Field(max_length=MAX_FUNCTIONS)


class RunCell(Request):
    """Run one cell's code in the notebook's namespace (the cells before it have run there)."""

    op: ClassVar[str] = "run_cell"
    served_by: ClassVar[tuple[str, ...]] = ("cells",)
    answer: ClassVar[Any] = CellRun
    source: OutputText
    forget: bool = False  # once run, the cell's source leaves the shell's history and line cache


REQUESTS: dict[str, type[Request]] = {
    cls.op: cls
    for cls in (
        Call,
        BuildModel,
        TrainModel,
        LayerCall,
        DescribeFigure,
        ExportGraph,
        LoadModel,
        Predict,
        GetWeights,
        SetWeights,
        TrackingRuns,
        Http,
        TrainMLP,
        GraphGradient,
        GraphFit,
        RunCell,
        Unbound,
    )
}
_ADAPTERS: dict[Any, TypeAdapter] = {}


def _adapter(kind) -> TypeAdapter:
    if kind not in _ADAPTERS:
        _ADAPTERS[kind] = TypeAdapter(
            kind,
            config=None
            if isinstance(kind, type) and issubclass(kind, BaseModel)
            else ConfigDict(strict=True, arbitrary_types_allowed=True),
        )
    return _ADAPTERS[kind]


def _why(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "the frame"
    return f"{where}: {first['msg']}"[:300]


def parse(kind, value, what: str):
    """``value`` checked against the declared type ``kind`` (a frame class or a type)."""
    if kind is None:
        if value is not None:
            raise ProtocolError(f"{what}: no value expected")
        return None
    try:
        return _adapter(kind).validate_python(value)
    except ValidationError as error:
        raise ProtocolError(f"{what} is malformed ({_why(error)})") from None


def request_frame(request: Request, nonce: str) -> dict:
    """The frame that carries ``request``."""
    return {"op": request.op, "id": nonce, **plain(_fields(request))}


def _fields(frame: Frame) -> dict:
    return {name: getattr(frame, name) for name in type(frame).model_fields}


def plain(frame):
    """A frame (or a value holding frames) as the plain data the codec sends."""
    if isinstance(frame, Frame):
        return {name: plain(value) for name, value in _fields(frame).items()}
    if isinstance(frame, list):
        return [plain(v) for v in frame]
    if isinstance(frame, tuple):
        return tuple(plain(v) for v in frame)
    if isinstance(frame, dict):
        return {k: plain(v) for k, v in frame.items()}
    return frame


def parse_request(frame, kind: str) -> tuple[str, Request]:
    """``(nonce, request)`` of a frame received by a worker of ``kind``."""
    if (
        not isinstance(frame, dict)
        or not isinstance(frame.get("op"), str)
        or not isinstance(frame.get("id"), str)
    ):
        raise ProtocolError("a request needs an op and an id")
    fields = {k: v for k, v in frame.items() if k not in ("op", "id")}
    cls = REQUESTS.get(frame["op"])
    if cls is None or kind not in cls.served_by:
        raise ProtocolError(f"a {kind} worker does not serve {frame['op'][:40]!r}")
    return frame["id"], parse(cls, fields, f"the request {cls.op}")


def answer_frame(nonce: str, value=None, error: ErrorInfo | None = None) -> dict:
    if error is not None:
        return {"id": nonce, "ok": False, "error": plain(error)}
    return {"id": nonce, "ok": True, "value": plain(value)}


def parse_answer(request: Request, frame, nonce: str) -> tuple[bool, Any]:
    """``(True, value)`` of the answer to ``request``, or ``(False, ErrorInfo)`` when the worker refused."""
    if not isinstance(frame, dict) or frame.get("id") != nonce or not isinstance(frame.get("ok"), bool):
        raise ProtocolError("an answer must carry the id of its request and ok")
    if not frame["ok"]:
        if set(frame) != {"id", "ok", "error"}:
            raise ProtocolError("an error answer holds id, ok and error only")
        return False, parse(ErrorInfo, frame["error"], "the error")
    if set(frame) != {"id", "ok", "value"}:
        raise ProtocolError("an answer holds id, ok and value only")
    return True, parse(request.answer, frame["value"], f"the answer to {request.op}")


# --------------------------------------------------------------------------- the zygote's control channel
#
# The judge asks the zygote (``tpdl.judge.worker.zygote``) over the zygote's standard input and output,
# one JSON object a line: the zygote says :class:`ZygoteReady` once, then answers each
# :class:`Spawn`, :class:`Reap` or :class:`KillUsers` with :class:`Spawned`, :class:`Reaped` or
# :class:`UsersKilled`, or :class:`ZygoteRefusal` for a line it cannot read. A warm pool
# (``tpdl.judge.pool``) relays the same lines to its clients after its :class:`PoolHello`.

MODELS_DIR = "_tpdl_models"  # where a worker saves the models the judge stages for other workers
PLACED = b"\x01"  # the judge's go-ahead to a forked worker: it is in its control group
WorkerKind = Literal["notebook", "models", "graphs", "service", "cells"]
WORKER_KINDS = get_args(WorkerKind)
Token = Annotated[str, Field(pattern=r"^[0-9a-f]{12}$")]
FolderInJail = Annotated[str, Field(pattern=r"^/spool/[0-9a-f]{12}/[a-z]+$")]
Uid = Annotated[int, Field(ge=0, le=2**31)]


class WorkerLimits(Frame):
    """The resource limits a worker sets on itself before anything of the student's runs."""

    address_space_bytes: int = Field(ge=1)
    cpu_seconds: int = Field(ge=1)
    file_bytes: int = Field(ge=1)
    processes: int = Field(ge=1)


class Spawn(Frame):
    """Fork a worker of ``kind`` over the tree ``work``, talking to the judge from ``control``."""

    op: Literal["spawn"] = "spawn"
    token: Token
    kind: WorkerKind
    uid: Uid | None
    key: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]  # the worker proves it holds it (``Hello``)
    work: FolderInJail
    control: FolderInJail
    notebook: Annotated[str, Field(max_length=1200)] | None = None
    skip_tags: list[Annotated[str, Field(max_length=MAX_NAME)]] = Field(default=[], max_length=16)
    env: dict[str, Annotated[str, Field(max_length=4096)]] = Field(max_length=64)
    options: dict[str, JsonValue] = Field(default={}, max_length=16)  # a service's module, factory, args
    limits: WorkerLimits


class Reap(Frame):
    """Wait up to ``wait_s`` for the worker ``token`` to end; how it ended."""

    op: Literal["reap"] = "reap"
    token: Token
    wait_s: float = Field(default=2.0, ge=0, le=60)


class KillUsers(Frame):
    """Kill every process of these users (root only): the zygote forks a helper per user."""

    op: Literal["kill_users"] = "kill_users"
    uids: list[Uid] = Field(max_length=100_000)


ZygoteRequest = Annotated[Spawn | Reap | KillUsers, Field(discriminator="op")]


class ZygoteReady(Frame):
    """The zygote's first line: it imported its libraries in ``import_s`` seconds."""

    import_s: float = Field(ge=0)


class Spawned(Frame):
    token: Token
    pid: int = Field(ge=1)  # in the jail's process namespace


class WorkerEnd(Frame):
    """How a worker's process ended: the signal that stopped it, or its exit status."""

    signal: int | None = Field(default=None, ge=1, le=128)
    signal_name: Annotated[str, Field(max_length=20)] | None = None
    exit_code: int | None = Field(default=None, ge=0, le=255)


class Reaped(Frame):
    token: Token
    status: WorkerEnd | None  # None: still running when the wait ended, or no such worker


class UsersKilled(Frame):
    killed: list[Uid] = Field(max_length=100_000)  # the users whose helper ran


class ZygoteRefusal(Frame):
    """The zygote's answer to a line that is not one of its requests."""

    error: Message


ZYGOTE_ANSWERS: dict[type[Frame], type[Frame]] = {Spawn: Spawned, Reap: Reaped, KillUsers: UsersKilled}


class PoolHello(Frame):
    """A warm pool's first line to a client: its jail's spool and its process id on the machine."""

    spool: Annotated[str, Field(min_length=1, max_length=4096)]
    jail_pid: int = Field(ge=1)


def control_line(frame: Frame) -> str:
    """``frame`` as one line of the zygote's control channel."""
    return json.dumps(plain(frame)) + "\n"


def parse_line(kind, line: str, what: str):
    """One line of the zygote's control channel checked against ``kind``."""
    try:
        value = json.loads(line, parse_constant=_no_constant)
    except ValueError as error:
        raise ProtocolError(f"{what} is not JSON ({str(error)[:200]})") from None
    return parse(kind, value, what)


# --------------------------------------------------------------------------- a student graded on a cluster
#
# ``tpdl grade --cluster`` sends each student to a Dask worker as a sealed :class:`GradingOrder` and
# gets back a sealed :class:`GradedAnswer`: JSON bytes after an HMAC under the grading run's own key
# (``seal``). The judge records a result only once its seal holds, it answers the task the judge
# sent, and it validates here; it never unpickles one.

ORDER = b"tpdl-cluster-order"  # what a seal is for: an order never passes for an answer, nor the reverse
ANSWER = b"tpdl-cluster-answer"
MAC_HEX = 64  # characters of the HMAC-SHA256 before the sealed JSON
MAX_SEALED = 64 * 2**20  # bytes of a sealed message
MAX_CHECKS = 1000
MAX_POINTS = 10_000.0  # of one check
MAX_CHECK_MESSAGE = 20_000  # characters of a check's message to the student
MAX_LOG = 16 * 2**20  # characters of the instructor's log of one student
MAX_SECONDS = 1e6

Text = Annotated[str, Field(max_length=MAX_TEXT)]
StudentId = Annotated[str, Field(min_length=1, max_length=64)]
Digest = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
Points = Annotated[float, Field(ge=0.0, le=MAX_POINTS)]
Seconds = Annotated[float, Field(ge=0.0, le=MAX_SECONDS)]


class Unauthenticated(ProtocolError):
    """Sealed bytes whose HMAC does not hold under the run's key (forged, altered, or of another run)."""


class GradingOrder(Frame):
    """The judge's order to a cluster's worker: grade this archive (its sha256) as ``task``."""

    task: Text
    assignment: Annotated[str, Field(min_length=1, max_length=MAX_NAME)]
    student: StudentId
    notebook: Annotated[str, Field(min_length=1, max_length=255)]
    archive_sha256: Digest
    judge_key: Digest  # the judge's cache key, which the worker must share
    language: Annotated[str, Field(min_length=1, max_length=16)]


class GradedCheck(Frame):
    """One check of a graded student (``tpdl.grading.Check``)."""

    name: Annotated[str, Field(min_length=1, max_length=MAX_NAME)]
    points: Points
    max_points: Points
    passed: bool
    message: Annotated[str, Field(max_length=MAX_CHECK_MESSAGE)]
    cell: Annotated[str, Field(max_length=MAX_NAME)] | None = None
    counted: bool = True

    @model_validator(mode="after")
    def _earned_within_reach(self):
        if self.points > self.max_points:
            raise ValueError(f"the check {self.name[:40]!r} earns more than it is worth")
        if self.points and not (self.passed and self.counted):
            raise ValueError(f"the check {self.name[:40]!r} earns points without passing")
        return self


class NotebookRun(Frame):
    cells: list[CellRecord] = Field(default=[], max_length=MAX_CELLS)


class TimeSpent(Frame):
    count: int = Field(ge=0)
    seconds: Seconds


class Span(Frame):
    check: Text
    worker: Text
    what: Text
    seconds: Seconds


class GradingProfile(Frame):
    """Where one student's grading time went (``tpdl.judge.profile.Profile.to_json``)."""

    total_s: Seconds
    checks_s: dict[Text, Seconds] = Field(max_length=MAX_CHECKS)
    outside_checks_s: Seconds
    requests: dict[Text, TimeSpent] = Field(max_length=10_000)
    spans: list[Span] = Field(max_length=100_000)


class GradedResult(Frame):
    """A student's result as grading makes it (``runners.grade_one``): its score is its checks'.

    A key added to ``tpdl.grading.Result.to_json`` is declared here too, or the cluster refuses
    every result (``tests/classroom/test_cluster_tls.py`` compares the cluster with ``--jobs 1``).
    """

    student: StudentId
    assignment: Annotated[str, Field(min_length=1, max_length=MAX_NAME)]
    score: Annotated[float, Field(ge=0.0, le=MAX_POINTS * MAX_CHECKS)]
    max_score: Annotated[float, Field(ge=0.0, le=MAX_POINTS * MAX_CHECKS)]
    checks: list[GradedCheck] = Field(max_length=MAX_CHECKS)
    notebook: NotebookRun
    seconds: Seconds
    internal_errors: int = Field(ge=0, le=MAX_CHECKS)
    infrastructure: Annotated[str, Field(max_length=300)] | None = None  # a problem of the machine's
    profile: GradingProfile | None = None

    @model_validator(mode="after")
    def _score_is_its_checks(self):
        earned = sum(c.points for c in self.checks)
        reachable = sum(c.max_points for c in self.checks if c.counted)
        if not math.isclose(self.score, earned, abs_tol=1e-6):
            raise ValueError(f"the score {self.score} is not the sum of its checks' points ({earned})")
        if not math.isclose(self.max_score, reachable, abs_tol=1e-6):
            raise ValueError(f"the maximum {self.max_score} is not its counted checks' sum ({reachable})")
        return self


class GradedAnswer(Frame):
    """A cluster worker's answer to one :class:`GradingOrder`: the task it answers, the result, the log."""

    task: Text
    result: GradedResult
    log: Annotated[str, Field(max_length=MAX_LOG)]


def _seal_mac(key: bytes, purpose: bytes, body: bytes) -> str:
    return hmac.new(key, purpose + b"\x00" + body, hashlib.sha256).hexdigest()


def seal(key: bytes, purpose: bytes, content: dict) -> bytes:
    """``content`` as JSON bytes after its HMAC under ``key`` for ``purpose`` (``ORDER`` or ``ANSWER``)."""
    body = json.dumps(content, ensure_ascii=False, allow_nan=False).encode()
    return _seal_mac(key, purpose, body).encode() + body


def _no_constant(name: str):
    raise ValueError(f"{name} is not a number of this protocol")


def unseal(key: bytes, purpose: bytes, kind: type[Frame], sealed, what: str) -> Frame:
    """The ``kind`` that ``sealed`` carries, once its HMAC holds under ``key`` for ``purpose``.

    Raises :class:`Unauthenticated` when the seal does not hold, :class:`ProtocolError` when what
    it seals is not a valid ``kind``.
    """
    if not isinstance(sealed, bytes) or not MAC_HEX < len(sealed) <= MAX_SEALED:
        raise Unauthenticated(f"{what} is not a sealed message ({type(sealed).__name__})")
    mac, body = sealed[:MAC_HEX], sealed[MAC_HEX:]
    if not hmac.compare_digest(mac, _seal_mac(key, purpose, body).encode()):
        raise Unauthenticated(f"{what} does not carry the HMAC of this grading run's key")
    try:
        content = json.loads(body.decode(), parse_constant=_no_constant)
    except ValueError as error:
        raise ProtocolError(f"{what} is not JSON ({str(error)[:200]})") from None
    return parse(kind, content, what)
