"""Which submissions of a class look alike: clusters of similar code and written answers, for the instructor.

The report is built on the judge's side from the submissions as they were handed in, and no
student code is ever imported or run: notebooks are parsed as JSON, ``.py`` files are read as text,
code is parsed with :mod:`ast` and never compiled.

**Reading.** Each ``<submissions>/<student>/<assignment>/`` folder is found by
:func:`tpdl.judge.intake.discover` and copied by :func:`tpdl.judge.intake.stage_submission`, the intake that
grading uses for hostile input: no link is followed, student ids are checked, and sizes, depth and
number of files are bounded (:data:`LIMITS`: a single file over 16 MiB is left out). Of the staged
copy, the report reads every code cell of the assignment's notebook (a cell the student adds
carries no nbgrader marking: the release's own cells are taken out by their fingerprints), every
``.py`` file, and the written answers (every markdown cell). Every text read goes through
:func:`tpdl.core.safe.text` first: a lone surrogate is replaced, and noted. Code that runs code held as
data (``exec`` of a string, ``runpy``, a module loaded from a file that is not ``.py``) hides it
from any comparison: the submission is flagged for a manual look.

**Normalising.** Each cell or file (a *piece*) is put in canonical form by :mod:`tpdl.classroom.normalise`:
comments, docstrings, layout, redundant parentheses and dead statements are gone, independent
statements and functions are in one canonical order, the operands of commutative operators are
sorted, comparisons face one way, ``map`` and ``append`` loops are comprehensions, and names, numbers
and strings are the tokens ``V``, ``N``, ``S``. Renaming, wrapping names in parentheses, reordering,
swapping operands, inserting dead code or identity calls, or padding with comments change nothing.
A piece that does not parse is cut into tokens as written, and noted. At most :data:`MAX_TOKENS`
normalised tokens of a piece (and :data:`MAX_STUDENT_TOKENS` of a student) are compared: comments
cost nothing, and a submission cut is flagged for a manual look.
The budget bounds the work before it is done: a piece is counted in tokens as written first, and
only its first ``SOURCE_TOKENS_PER_TOKEN`` times the budget are parsed; a block too large to
reorder keeps its order; both are flagged too.

**Fingerprinting.** Every run of ``k`` = :data:`NOISE` consecutive tokens of a unit (a *k-gram*) is
hashed (BLAKE2b: the same in every process, so a report is reproducible); of each window of
:data:`WINDOW` consecutive hashes, *winnowing* keeps the smallest (Schleimer, Wilkerson and Aiken,
2003: the method of MOSS), so that a shared stretch of ``k + WINDOW - 1`` tokens is always found.
K-grams never run from one unit into the next: a document's fingerprints form a set, whatever the
order of its functions and cells. Every k-gram of the release's code is taken out of every
student's fingerprints, so that only what students wrote can match.

**Scoring.** For two students A and B, A→B is the share of A's fingerprinted tokens that lie in a
fingerprint whose k-gram B's code also holds, and B→A the converse. Written answers are compared
apart: each is cut into word shingles of :data:`SHINGLE_WORDS` words after case and punctuation are
folded, the release's shingles are removed, and A→B is the share of A's shingles that B's answer
also holds. A pair is reported when a code share reaches the threshold or a text share reaches
:data:`TEXT_THRESHOLD`; reported pairs are grouped into **clusters** (connected students), each
shown with its members and the strongest pairs linking them. The code threshold is the TP's
(``[similarity]`` of ``graders/<tp>/manifest.toml``), set by :func:`calibrate` from the catalogue's
independent whole solutions: the highest share between two of them, plus :data:`MARGIN`.

A failure to compare one pair is a note in the report, never the end of it.
"""

import bisect
import csv
import hashlib
import io
import re
import shutil
import sys
import tempfile
import tomllib
import unicodedata
from dataclasses import dataclass, field
from itertools import combinations
from pathlib import Path

import nbformat
from jinja2 import Environment, PackageLoader, select_autoescape

from tpdl.authoring import catalogue
from tpdl.classroom import normalise
from tpdl.core import paths, safe
from tpdl.core.files import write_atomically
from tpdl.judge import intake

THRESHOLD = 0.5  # a TP whose manifest sets none: a pair is reported when A→B or B→A reaches it
TEXT_THRESHOLD = 0.4  # written answers: independent paragraphs share few runs of 4 words
MARGIN = 0.1  # above the highest share between independent solutions (see calibrate)
NOISE = 16  # tokens of normalised code: shorter matches never count
WINDOW = 6  # hashes of which winnowing keeps the smallest: matches of NOISE + WINDOW - 1 are found
SHINGLE_WORDS = 4  # words of a written answer's shingle
MIN_SHINGLES = 8  # a written answer with fewer (about a dozen words of its own) is not compared
MAX_TOKENS = 20_000  # normalised tokens of one piece: the rest is not compared, and flagged
SOURCE_TOKENS_PER_TOKEN = 2  # tokens as written parsed at all, per normalised token of the budget
MAX_STUDENT_TOKENS = 100_000  # of one student
MAX_PIECE_CHARS = 2_000_000  # characters of one piece read at all (comments and all)
MAX_PROSE_CHARS = 200_000  # characters of one student's written answers
MAX_REGIONS = 30  # matching regions shown for one pair
REGION_CHARS = 4_000  # of one region shown
MAX_REPEATS = 16  # a fingerprint found more often in a pair (both counts multiplied) is not placed
LIMITS = intake.IntakeLimits(file_bytes=16 * 2**20)  # a notebook with its figures fits; weights need not
TEMPLATES = Environment(
    loader=PackageLoader("tpdl", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
)
CSV_HEADER = (
    "cluster",
    "members",
    "student_a",
    "student_b",
    "a_to_b",
    "b_to_a",
    "text_a_to_b",
    "text_b_to_a",
    "tokens",
    "regions",
    "where_a",
    "where_b",
    "excerpt_a",
)
_WORD = re.compile(r"\w+")


class Unreadable(Exception):
    """A notebook that nbformat cannot parse, or that does not follow the notebook format."""


@dataclass
class Document:
    """One student's code in canonical form, unit after unit, and their written answers.

    Each unit follows a comment line naming it (``# tp2.ipynb [sgd_step], def sgd_step``); a token
    ``i`` of :attr:`tokens` lies at ``text[starts[i]:ends[i]]``, and ``breaks`` holds the index of
    each unit's first token (k-grams never cross one).
    """

    student: str
    text: str = ""
    units: list[tuple[int, int, str]] = field(default_factory=list)  # (start, end, label) in text
    tokens: list[str] = field(default_factory=list)
    starts: list[int] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)
    breaks: list[int] = field(default_factory=list)
    prose: str = ""  # the written answers, one after the other
    notes: list[str] = field(default_factory=list)  # what was left out, cut or could not be read
    cut: bool = False  # a budget cut it, or it runs code held as data: for a manual look
    identities: set[str] = field(default_factory=set)  # its identity helpers (``def f(x): return x``)

    def add(self, label: str, source: str) -> None:
        """Append the canonical units of ``source``, as many tokens as the budgets leave room for."""
        if len(source) > MAX_PIECE_CHARS:
            self._cut(f"{label}: only its first {MAX_PIECE_CHARS:,} characters were read")
            source = source[:MAX_PIECE_CHARS]
        clean = safe.text(source)
        if clean != source:
            self.notes.append(f"{label}: characters that are not text (lone surrogates) were replaced")
        room = min(MAX_TOKENS, MAX_STUDENT_TOKENS - len(self.tokens))
        if room <= 0:
            self._cut(
                f"{label}: not read, the submission's {MAX_STUDENT_TOKENS:,} normalised tokens are reached"
            )
            return
        normalised = normalise.normalise(clean, SOURCE_TOKENS_PER_TOKEN * room, self.identities)
        self.identities = normalised.identities
        if not normalised.parsed:
            self.notes.append(f"{label}: not Python that parses, compared token by token as written")
        if normalised.cut:
            self._cut(
                f"{label}: only its first {SOURCE_TOKENS_PER_TOKEN * room:,} tokens as written were read"
            )
        if normalised.unordered:
            self._cut(
                f"{label}: {normalised.unordered} blocks too large to reorder were compared in their order"
            )
        for what in dict.fromkeys(normalised.runs_code):
            self._cut(f"{label}: runs code held as data, which is not compared ({what})")
        for unit in normalised.units:
            kept = unit.tokens[: max(room, 0)]
            if kept:
                code = unit.code[: unit.spans[len(kept) - 1][1]]
                self.text += f"# {label}, {unit.name}\n"
                base = len(self.text)
                self.breaks.append(len(self.tokens))
                self.tokens += kept
                self.starts += [base + start for start, _ in unit.spans[: len(kept)]]
                self.ends += [base + end for _, end in unit.spans[: len(kept)]]
                self.units.append((base, base + len(code), f"{label}, {unit.name}"))
                self.text += code + "\n\n"
                room -= len(kept)
            if len(kept) < len(unit.tokens):
                self._cut(
                    f"{label}: cut at {MAX_TOKENS:,} normalised tokens of a piece "
                    f"({MAX_STUDENT_TOKENS:,} of a submission)"
                )
                return

    def add_prose(self, label: str, text: str) -> None:
        """Append a written answer, as much of it as :data:`MAX_PROSE_CHARS` leaves room for."""
        room = MAX_PROSE_CHARS - len(self.prose)
        if len(text) > room:
            self._cut(f"{label}: the written answers were cut at {MAX_PROSE_CHARS:,} characters")
            text = text[: max(room, 0)]
        self.prose += safe.text(text) + "\n\n"

    def _cut(self, note: str) -> None:
        self.cut = True
        self.notes.append(f"{note}: for a manual look")

    def where(self, start: int, end: int) -> str:
        """``text[start:end]`` as a reader finds it: the label of its unit, and its lines there."""
        first, last = self._locate(start), self._locate(max(start, end - 1))
        if first[0] == last[0]:
            lines = f"line {first[1]}" if first[1] == last[1] else f"lines {first[1]}-{last[1]}"
            return f"{first[0]}, {lines}"
        return f"{first[0]}, line {first[1]} to {last[0]}, line {last[1]}"

    def _locate(self, offset: int) -> tuple[str, int]:
        begin, label = next(((s, name) for s, _, name in reversed(self.units) if s <= offset), (0, ""))
        return label, self.text.count("\n", begin, offset) + 1


def _hash(gram: list[str]) -> int:
    return int.from_bytes(hashlib.blake2b("\x1f".join(gram).encode(), digest_size=8).digest(), "big")


def kgrams(document: Document, k: int) -> list[tuple[int, int]]:
    """``(hash, position)`` of every k-gram of the document's tokens that lies within one unit."""
    found = []
    bounds = [*document.breaks, len(document.tokens)]
    for begin, end in zip(bounds, bounds[1:]):
        found += [(_hash(document.tokens[i : i + k]), i) for i in range(begin, end - k + 1)]
    return found


@dataclass
class Fingerprints:
    """A document's k-grams (less the release's) and the winnowed ones among them."""

    k: int
    positions: dict[int, list[int]]  # every k-gram's hash -> where it starts
    chosen: list[tuple[int, int]]  # (hash, position) of the winnowed k-grams
    covered: int  # tokens within a winnowed k-gram
    breaks: list[int] = field(default_factory=list)  # where each unit starts

    def unit(self, position: int) -> int:
        """The unit that the token at ``position`` belongs to."""
        return bisect.bisect_right(self.breaks, position)

    @property
    def hashes(self) -> set[int]:
        return {hashed for hashed, _ in self.chosen}


def fingerprint(
    document: Document, boilerplate: set[int], k: int = NOISE, window: int = WINDOW
) -> Fingerprints:
    """The winnowed fingerprints of a student's document, less every k-gram in ``boilerplate``."""
    grams = kgrams(document, k)
    chosen: set[tuple[int, int]] = set()
    bounds = [*document.breaks, len(document.tokens)]
    index = 0
    for begin, end in zip(bounds, bounds[1:]):
        unit = grams[index : index + max(0, end - begin - k + 1)]
        index += len(unit)
        if not unit:
            continue
        for start in range(max(1, len(unit) - window + 1)):
            chosen.add(min(unit[start : start + window], key=lambda gram: (gram[0], -gram[1])))
    kept = sorted((hashed, at) for hashed, at in chosen if hashed not in boilerplate)
    positions: dict[int, list[int]] = {}
    for hashed, at in grams:
        if hashed not in boilerplate:
            positions.setdefault(hashed, []).append(at)
    return Fingerprints(k, positions, kept, _coverage([at for _, at in kept], k), list(document.breaks))


def _coverage(starts: list[int], k: int) -> int:
    """Tokens within at least one of the k-grams starting at ``starts``."""
    covered, reached = 0, -1
    for start in sorted(starts):
        covered += max(0, start + k - max(start, reached))
        reached = max(reached, start + k)
    return covered


def code_share(one: Fingerprints, other: Fingerprints) -> tuple[float, int]:
    """The share of ``one``'s fingerprinted tokens found in ``other``'s code, and how many tokens."""
    found = _coverage([at for hashed, at in one.chosen if hashed in other.positions], one.k)
    return (found / one.covered if one.covered else 0.0), found


def shingles(text: str) -> set[tuple[str, ...]]:
    """The runs of :data:`SHINGLE_WORDS` words of ``text``, case and punctuation folded."""
    words = _WORD.findall(unicodedata.normalize("NFKC", text).casefold())
    return {tuple(words[i : i + SHINGLE_WORDS]) for i in range(len(words) - SHINGLE_WORDS + 1)}


def text_share(one: set, other: set) -> float | None:
    """The share of ``one``'s shingles that ``other`` holds; None where either is too short to say."""
    if len(one) < MIN_SHINGLES or len(other) < MIN_SHINGLES:
        return None
    return len(one & other) / len(one)


def _cells(path: Path) -> list[tuple[int, dict]]:
    """The numbered cells of a notebook; :class:`Unreadable` for any failure to parse it."""
    try:
        invalid: dict = {}
        notebook = nbformat.reads(
            path.read_text(encoding="utf-8"), as_version=4, capture_validation_error=invalid
        )
        if invalid:
            raise Unreadable(f"{intake.shown(path.name)} does not follow the notebook format")
        return list(enumerate(notebook.cells, 1))
    except Unreadable:
        raise
    except Exception as error:  # hostile JSON: whatever parsing raises, the notebook cannot be read
        raise Unreadable(
            f"{intake.shown(path.name)} is not a readable notebook ({type(error).__name__})"
        ) from error


def notebook_pieces(path: Path, kind: str = "code") -> list[tuple[str, str]]:
    """The ``(label, source)`` of every cell of ``kind`` (``code`` or ``markdown``) of a notebook: the
    cells a student adds carry no nbgrader marking, and the release's own code and text are taken
    out later. Nothing in the file is trusted: any failure to parse it, or a structure other than the
    notebook format's, raises :class:`Unreadable`.
    """
    pieces = []
    for number, cell in _cells(path):
        if cell.get("cell_type") != kind:
            continue
        grade_id = _nbgrader(cell).get("grade_id")
        name = f"[{grade_id}]" if isinstance(grade_id, str) and grade_id else f"cell {number}"
        pieces.append((safe.for_terminal(f"{path.name} {name}", 120), cell.source))
    return pieces


def notebook_code(path: Path) -> list[tuple[str, str]]:
    """The ``(label, source)`` of every code cell of a notebook."""
    return notebook_pieces(path, "code")


def _nbgrader(cell) -> dict:
    """A cell's nbgrader metadata, or ``{}`` where it is missing or not a mapping."""
    metadata = cell.get("metadata")
    found = metadata.get("nbgrader") if isinstance(metadata, dict) else None
    return found if isinstance(found, dict) else {}


def read_code(folder: Path, assignment: str, student: str) -> Document:
    """One staged submission: its notebook's code and written answers, then its ``.py`` files."""
    document = Document(student)
    notebook = folder / f"{assignment}.ipynb"
    if notebook.is_file():
        try:
            for label, source in notebook_pieces(notebook, "code"):
                document.add(label, source)
            for label, text in notebook_pieces(notebook, "markdown"):
                document.add_prose(label, text)
        except Unreadable as error:
            document.notes.append(f"unreadable: {error}")
    else:
        document.notes.append(f"no {assignment}.ipynb")
    for script in sorted(folder.rglob("*.py")):
        label = safe.for_terminal(intake.shown(str(script.relative_to(folder))), 120)
        document.add(label, script.read_bytes().decode("utf-8", "replace"))
    return document


def release_boilerplate(assignment: str, release: Path, k: int = NOISE) -> tuple[set[int], set]:
    """Every k-gram hash of the release's code, and every shingle of its markdown."""
    document = read_code(release, assignment, "release")
    notebook = release / f"{assignment}.ipynb"
    texts = (
        [cell.source for _, cell in _cells(notebook) if cell.cell_type == "markdown"]
        if notebook.is_file()
        else []
    )
    return {hashed for hashed, _ in kgrams(document, k)}, shingles("\n\n".join(texts))


@dataclass
class Region:
    """A stretch of A's code beside the stretch of B's it matches."""

    where_a: str
    where_b: str
    code_a: tuple[str, str, str]  # its whole lines: before the match, the match, after it
    code_b: tuple[str, str, str]
    size: int  # normalised tokens of A's it covers


@dataclass
class Pair:
    """Two students whose work looks alike; A is the one more of whose code is found in the other's."""

    a: str
    b: str
    a_to_b: float  # the share of A's fingerprinted code found in B's
    b_to_a: float
    tokens: int  # normalised tokens of A's code found in B's
    regions: list[Region]
    text_a_to_b: float | None = None  # the share of A's written answers found in B's
    text_b_to_a: float | None = None
    prose: tuple[str, str] = ("", "")  # both written answers, bounded, where a text share is reported

    @property
    def score(self) -> float:
        """The strongest evidence of the pair: its largest share, of code or of written answers."""
        return max(self.a_to_b, self.b_to_a, self.text_a_to_b or 0.0, self.text_b_to_a or 0.0)


@dataclass
class Cluster:
    """Students linked by reported pairs, and the strongest pairs that link them (one per member but one)."""

    members: list[str]
    pairs: list[Pair]

    @property
    def score(self) -> float:
        return max(pair.score for pair in self.pairs)


@dataclass
class Comparison:
    """A class compared: who was, what the report notes of whom, the pairs reported and their clusters."""

    assignment: str
    threshold: float
    noise: int
    guarantee: int
    students: list[str]
    notes: dict[str, list[str]]  # student (or folder refused, or pair) -> notes
    pairs: list[Pair]
    clusters: list[Cluster] = field(default_factory=list)
    threshold_how: str = ""  # how the threshold was set
    text_threshold: float = TEXT_THRESHOLD
    cut: list[str] = field(default_factory=list)  # students a budget cut: for a manual look

    def __post_init__(self):
        if self.pairs and not self.clusters:
            self.clusters = clusters(self.pairs)


def _lines(text: str, start: int, end: int) -> tuple[str, str, str]:
    """``text[start:end]`` with the rest of its first and last lines around it, bounded for display."""
    begin = text.rfind("\n", 0, start) + 1
    stop = text.find("\n", end)
    stop = len(text) if stop < 0 else stop
    match = text[start:end]
    if len(match) > REGION_CHARS:
        match, stop = match[:REGION_CHARS] + "\n…", end
    return text[begin:start][-REGION_CHARS:], match, text[end:stop][:REGION_CHARS]


def _runs(prints_a: Fingerprints, prints_b: Fingerprints, reach: int) -> list[list[int]]:
    """The stretches of normalised code that A and B share in the same order.

    Every winnowed fingerprint of A whose k-gram B holds is a match: a token position in A and one
    in B. Taken in A's order, a match extends a run when it lies at most ``reach`` tokens past the
    run's last match in A and has moved about as far (within ``k``) in B, in the same units of
    both: the overlapping k-grams of one copied stretch, or two stretches parted by a small edit.
    Any other match starts a run.
    A k-gram repeated more than :data:`MAX_REPEATS` times in the pair cannot be placed and is left
    out. Each run is ``[a_first, a_last, b_last, b_low, b_high]``.
    """
    mine: dict[int, list[int]] = {}
    for hashed, at in prints_a.chosen:
        mine.setdefault(hashed, []).append(at)
    matches = sorted(
        (spot_a, spot_b)
        for hashed, spots in mine.items()
        if hashed in prints_b.positions and len(spots) * len(prints_b.positions[hashed]) <= MAX_REPEATS
        for spot_a in spots
        for spot_b in prints_b.positions[hashed]
    )
    runs: list[list[int]] = []
    open_runs: list[list[int]] = []  # those the next matches may still extend
    for spot_a, spot_b in matches:
        open_runs = [run for run in open_runs if spot_a - run[1] <= reach]
        run = next(
            (
                r
                for r in open_runs
                if spot_a > r[1]
                and abs((spot_b - r[2]) - (spot_a - r[1])) <= prints_a.k
                and prints_a.unit(spot_a) == prints_a.unit(r[0])
                and prints_b.unit(spot_b) == prints_b.unit(r[2])
            ),
            None,
        )
        if run is None:
            run = [spot_a, spot_a, spot_b, spot_b, spot_b]
            runs.append(run)
            open_runs.append(run)
        run[1:] = [spot_a, spot_b, min(run[3], spot_b), max(run[4], spot_b)]
    return runs


def _mostly_within(start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    """Whether more than half of ``start:end`` lies within ``spans``."""
    inside = sum(max(0, min(end, stop) - max(start, begin)) for begin, stop in spans)
    return 2 * inside > end - start


def regions(
    first: Document, second: Document, prints_a: Fingerprints, prints_b: Fingerprints
) -> list[Region]:
    """The stretches of code A and B share, each of A's beside B's, the longest first.

    A run lying mostly within longer ones, on either side, is a common idiom matched astray inside
    a region already shown, and is left out; so are the runs past :data:`MAX_REGIONS`.
    """
    k = prints_a.k
    spans = sorted(
        (
            (a_first, a_last + k, low, high + k)
            for a_first, a_last, _, low, high in _runs(prints_a, prints_b, 2 * k)
        ),
        key=lambda span: (span[0] - span[1], span[0]),
    )
    kept: list[tuple[int, int, int, int]] = []
    for span in spans:
        if len(kept) == MAX_REGIONS:
            break
        seen_a, seen_b = [(s[0], s[1]) for s in kept], [(s[2], s[3]) for s in kept]
        if not (_mostly_within(span[0], span[1], seen_a) or _mostly_within(span[2], span[3], seen_b)):
            kept.append(span)
    found = []
    for a_start, a_end, b_start, b_end in kept:
        start_a, end_a = first.starts[a_start], first.ends[min(a_end, len(first.ends)) - 1]
        start_b, end_b = second.starts[b_start], second.ends[min(b_end, len(second.ends)) - 1]
        found.append(
            Region(
                first.where(start_a, end_a),
                second.where(start_b, end_b),
                _lines(first.text, start_a, end_a),
                _lines(second.text, start_b, end_b),
                a_end - a_start,
            )
        )
    return found


def read_class(assignment: str, submissions: Path, limits: intake.IntakeLimits) -> tuple[dict, dict]:
    """Every submission's :class:`Document`, read from its staged copy, and the notes on folders refused."""
    found = intake.discover(assignment, submissions)
    notes: dict[str, list[str]] = {name: [why] for name, why in found.refused.items()}
    documents: dict[str, Document] = {}
    with tempfile.TemporaryDirectory(prefix="tpdl-similarity-") as scratch:
        for student, folder in found.folders.items():
            if folder is None:
                continue
            staged = intake.stage_submission(submissions, student, assignment, limits, into=Path(scratch))
            try:
                if staged.refused:
                    notes[student] = [f"not read: {staged.refused}"]
                    continue
                documents[student] = document = read_code(staged.folder, assignment, student)
            except Exception as error:  # noqa: BLE001 - one submission's failure is a note, not the report's end
                notes[student] = [f"not read: {type(error).__name__}"]
                continue
            finally:
                staged.remove()
            document.notes += [f"left out: {path} ({why})" for path, why in staged.dropped[:5]]
            if len(staged.dropped) > 5:
                document.notes.append(f"and {len(staged.dropped) - 5} more files left out")
    return documents, notes


def compare_pair(
    first: Document, second: Document, prints: dict, texts: dict, threshold: float
) -> Pair | None:
    """The pair of two students, A first, with the regions of their code that match; None where no
    share reaches its threshold (code: ``threshold``, written answers: :data:`TEXT_THRESHOLD`)."""
    one, other = prints[first.student], prints[second.student]
    (first_share, first_tokens), (second_share, second_tokens) = (
        code_share(one, other),
        code_share(other, one),
    )
    if first_share < second_share:
        first, second, one, other = second, first, other, one
        first_share, second_share, first_tokens = second_share, first_share, second_tokens
    text_ab = text_share(texts[first.student], texts[second.student])
    text_ba = text_share(texts[second.student], texts[first.student])
    if first_share < threshold and max(text_ab or 0.0, text_ba or 0.0) < TEXT_THRESHOLD:
        return None
    prose = (first.prose[:REGION_CHARS].strip(), second.prose[:REGION_CHARS].strip())
    shown = regions(first, second, one, other)
    return Pair(
        first.student, second.student, first_share, second_share, first_tokens, shown, text_ab, text_ba, prose
    )


def clusters(pairs: list[Pair]) -> list[Cluster]:
    """The students linked by ``pairs``, each group with the strongest pairs that connect it
    (a maximum spanning tree), the strongest group first."""
    leader: dict[str, str] = {}

    def root(student: str) -> str:
        while leader.setdefault(student, student) != student:
            student = leader[student]
        return student

    tree: list[Pair] = []
    for pair in sorted(pairs, key=lambda p: (-p.score, -p.tokens, p.a, p.b)):
        one, other = root(pair.a), root(pair.b)
        if one != other:
            leader[max(one, other)] = min(one, other)
            tree.append(pair)
    groups: dict[str, Cluster] = {}
    for pair in tree:
        group = groups.setdefault(root(pair.a), Cluster([], []))
        group.pairs.append(pair)
    for group in groups.values():
        group.members = sorted({s for pair in group.pairs for s in (pair.a, pair.b)})
    return sorted(groups.values(), key=lambda g: (-g.score, -len(g.members), g.members))


def settings(assignment: str) -> tuple[float, str]:
    """The TP's code threshold (``[similarity]`` of its manifest) and a sentence saying how it was set."""
    manifest = paths.graders(assignment) / "manifest.toml"
    table = tomllib.loads(manifest.read_text()).get("similarity", {}) if manifest.is_file() else {}
    if "threshold" not in table:
        return THRESHOLD, f"the kit's default: {assignment}'s manifest sets no [similarity] threshold"
    highest, margin = table.get("independent_highest"), table.get("margin")
    how = (
        f"set for {assignment} from the catalogue's independent whole solutions and the reference: "
        f"the highest share between two of them, {highest:.0%}, plus a margin of {margin:.0%}"
    )
    return float(table["threshold"]), how


def compare_class(
    assignment: str,
    submissions: Path | None = None,
    threshold: float | None = None,
    release: Path | None = None,
    noise: int = NOISE,
    window: int = WINDOW,
    limits: intake.IntakeLimits = LIMITS,
) -> Comparison:
    """Compare every two submissions of ``assignment``: the pairs where a share reaches its threshold,
    and their clusters. ``threshold`` defaults to the TP's (:func:`settings`), ``submissions`` to
    ``submitted/`` and ``release`` to ``release/<assignment>/``.
    """
    submissions = Path(submissions or paths.submitted())
    release = Path(release or paths.release(assignment))
    if not release.is_dir():
        raise FileNotFoundError(
            f"no release of {assignment} to remove: build it with `tpdl release {assignment}`"
        )
    if threshold is None:
        threshold, how = settings(assignment)
    else:
        how = "given on the command line"
    boilerplate, release_shingles = release_boilerplate(assignment, release, noise)
    documents, notes = read_class(assignment, submissions, limits)
    prints = {student: fingerprint(doc, boilerplate, noise, window) for student, doc in documents.items()}
    texts = {student: shingles(doc.prose) - release_shingles for student, doc in documents.items()}
    for student, document in documents.items():
        if not prints[student].chosen and len(texts[student]) < MIN_SHINGLES:
            document.notes.append("no code or written answer of its own beyond the release's: not compared")
        if document.notes:
            notes[student] = document.notes
    compared = sorted(s for s in documents if prints[s].chosen or len(texts[s]) >= MIN_SHINGLES)
    pairs = []
    for one, other in combinations(compared, 2):
        try:
            pair = compare_pair(documents[one], documents[other], prints, texts, threshold)
        except Exception as error:  # noqa: BLE001 - one pair's failure is a note, never the report's end
            notes[f"{one} and {other}"] = [f"not compared: {type(error).__name__}"]
            continue
        if pair is not None:
            pairs.append(pair)
    pairs.sort(key=lambda pair: (-pair.score, -pair.tokens, pair.a, pair.b))
    return Comparison(
        assignment,
        threshold,
        noise,
        noise + window - 1,
        compared,
        dict(sorted(notes.items())),
        pairs,
        clusters(pairs),
        how,
        TEXT_THRESHOLD,
        sorted(s for s, doc in documents.items() if doc.cut),
    )


@dataclass
class Calibration:
    """The shares between the catalogue's independent whole solutions of a TP, and the threshold they set."""

    shares: dict[tuple[str, str], float]  # (one, other) -> the larger share of the pair

    @property
    def highest(self) -> float:
        return round(max(self.shares.values()), 2)

    @property
    def threshold(self) -> float:
        return round(self.highest + MARGIN, 2)


def whole_solutions(assignment: str, folder: Path, into: Path) -> list[str]:
    """Write, under ``into/<name>/<assignment>/``, the reference and every whole solution of the
    catalogue ``folder`` (each written into the release as a student receives it); their names."""
    untouched = paths.sample_submission("untouched", assignment)
    shutil.copytree(paths.sample_submission("reference", assignment), into / "reference" / assignment)
    names = ["reference"]
    for entry in catalogue.entries(folder):
        if entry.target == catalogue.WHOLE:
            name = entry.id.split("--")[-1]
            catalogue.build(entry, untouched, into / name / assignment, f"{assignment}.ipynb")
            names.append(name)
    return names


def calibrate(assignment: str, folder: Path) -> Calibration:
    """The shares between the reference and the whole solutions of the catalogue ``folder``
    (``tests/catalogue/<tp>/``), each written from the release alone, compared as a class."""
    with tempfile.TemporaryDirectory(prefix="tpdl-calibrate-") as scratch:
        names = whole_solutions(assignment, folder, Path(scratch))
        release = paths.sample_submission("untouched", assignment)
        comparison = compare_class(assignment, Path(scratch), 0.0, release)
    found = {(p.a, p.b): max(p.a_to_b, p.b_to_a) for p in comparison.pairs}
    return Calibration(
        {
            (one, other): found.get((one, other), found.get((other, one), 0.0))
            for one, other in combinations(names, 2)
        }
    )


def similarity_csv(comparison: Comparison) -> str:
    """One row per pair linking a cluster, strongest cluster first, with its longest region; every
    cell safe for a spreadsheet."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADER)
    for number, cluster in enumerate(comparison.clusters, 1):
        for pair in cluster.pairs:
            longest = pair.regions[0] if pair.regions else Region("", "", ("", "", ""), ("", "", ""), 0)
            lines = (longest.code_a[0] + longest.code_a[1]).splitlines()
            excerpt = next((line.strip() for line in lines if line.strip()), "")[:120]
            row = [
                number,
                " ".join(cluster.members),
                pair.a,
                pair.b,
                round(pair.a_to_b, 3),
                round(pair.b_to_a, 3),
                "" if pair.text_a_to_b is None else round(pair.text_a_to_b, 3),
                "" if pair.text_b_to_a is None else round(pair.text_b_to_a, 3),
                pair.tokens,
                len(pair.regions),
                longest.where_a,
                longest.where_b,
                excerpt,
            ]
            writer.writerow([safe.for_csv(cell) for cell in row])
    return buffer.getvalue()


def similarity_html(comparison: Comparison) -> str:
    """The clusters, then the matching regions of the pairs that link each; every student text escaped."""
    page = TEMPLATES.get_template("similarity.html.j2").render(
        assignment=comparison.assignment,
        threshold=f"{comparison.threshold:.0%}",
        threshold_how=comparison.threshold_how,
        text_threshold=f"{comparison.text_threshold:.0%}",
        text_threshold_value=comparison.text_threshold,
        students=comparison.students,
        notes=comparison.notes,
        pairs=comparison.pairs,
        clusters=comparison.clusters,
        cut=comparison.cut,
        noise=comparison.noise,
        guarantee=comparison.guarantee,
        max_tokens=f"{MAX_TOKENS:,}",
        shingle_words=SHINGLE_WORDS,
    )
    return safe.for_log(page)


def _percent(share: float | None) -> str:
    return "-" if share is None else f"{share:.0%}"


def main(
    assignment: str,
    submissions: Path | None = None,
    html: Path | None = None,
    csv_path: Path | None = None,
    threshold: float | None = None,
) -> int:
    """``tpdl similarity``: write the report, by default ``reports/<assignment>-similarity.{html,csv}``."""
    try:
        comparison = compare_class(assignment, submissions, threshold)
    except (FileNotFoundError, NotADirectoryError) as error:
        print(f"tpdl similarity: {safe.for_terminal(error)}", file=sys.stderr)
        return 2
    html = Path(html or paths.reports() / f"{assignment}-similarity.html")
    csv_path = Path(csv_path or paths.reports() / f"{assignment}-similarity.csv")
    write_atomically(html, safe.text(similarity_html(comparison)))
    write_atomically(csv_path, safe.text(similarity_csv(comparison)))
    print(
        f"{assignment}: {len(comparison.students)} submissions compared, {len(comparison.clusters)} clusters "
        f"({len(comparison.pairs)} pairs) at or above {comparison.threshold:.0%} of code or "
        f"{comparison.text_threshold:.0%} of written answers, {len(comparison.notes)} noted, "
        f"{len(comparison.cut)} cut for a manual look"
    )
    print(f"  threshold: {safe.for_terminal(comparison.threshold_how)}")
    for number, cluster in enumerate(comparison.clusters[:10], 1):
        members = safe.for_terminal(", ".join(cluster.members), 200)
        print(f"  cluster {number}: {members} (up to {cluster.score:.0%})")
        for pair in cluster.pairs[:10]:
            print(
                safe.for_terminal(
                    f"    {pair.a} -> {pair.b}: {pair.a_to_b:.0%}, {pair.b} -> {pair.a}: {pair.b_to_a:.0%}"
                    f" ({pair.tokens} tokens); written answers {_percent(pair.text_a_to_b)}"
                    f" / {_percent(pair.text_b_to_a)}"
                )
            )
    print(f"written: {safe.for_terminal(html)}, {safe.for_terminal(csv_path)}")
    return 0
