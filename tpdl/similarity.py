"""Which submissions of a class look alike: a report of pairwise code similarity, for the instructor.

The report is built on the judge's side from the submissions as they were handed in, and no
student code is ever imported or run: notebooks are parsed as JSON, ``.py`` files are read as text.

**Reading.** Each ``<submissions>/<student>/<assignment>/`` folder is found by
:func:`tpdl.intake.discover` and copied by :func:`tpdl.intake.stage_submission`, the intake that
grading uses for hostile input: no link is followed, student ids are checked, and sizes, depth and
number of files are bounded (:data:`LIMITS`: a single file over 16 MiB is left out). Two things of
the staged copy are read: the code cells of the assignment's notebook (its nbgrader *solution*
cells, those the student wrote in, or every code cell when none is marked) and every ``.py`` file.
Each cell or file is a *piece* of the student's :class:`Document`, which stops at
:data:`MAX_CHARS` characters so that no submission can stall the report. A notebook that cannot be
parsed is noted in the report, and the rest of its submission is still compared.

**Normalising.** Copying is rarely verbatim: names are changed, comments added, functions moved.
``copydetect`` tokenises each piece with the Python lexer of ``pygments``, drops comments and
whitespace, and writes every name as ``V``, every function being defined as ``F`` and every string
as ``S``: ``velocities = [momentum * v - lr * g ...]`` and ``vel = [mu * a - eta * b ...]`` become the
same text, and only the structure of the code (keywords, operators, built-ins) is left.

**Fingerprinting.** Every substring of ``k`` characters of a normalised piece (a *k-gram*, with
``k`` = ``noise``) is hashed; of each window of ``w`` consecutive hashes, *winnowing* keeps the
smallest (Schleimer, Wilkerson and Aiken, 2003: the method of MOSS). A match shorter than ``k``
never counts, and one of at least ``guarantee`` = ``k + w - 1`` characters is always found. Pieces
are fingerprinted one by one, so that nothing in one cell (an unterminated string, say) changes
how the next is read; a document's fingerprints form a set, so the order of its functions does
not matter. Python salts its string hashes afresh in every process and winnowing keeps the
smallest hashes, so the shares of a pair may move by a point or so from one run to the next.

**Removing the starter code.** Every student's notebook holds the release's stubs, helpers and
tests. Each k-gram of the release's code (``release/<assignment>/``: every code cell of its
notebook and every ``.py`` file) is taken out of every student's fingerprints, so that only what
students wrote can match. The subtraction is made here rather than by the ``boilerplate``
argument of ``copydetect.CodeFingerprint``, which takes the winnowed hashes to be distinct and so
also drops the repeated fingerprints of a student's own code.

**Scoring.** For two students A and B, :func:`copydetect.compare_files` gives the share of A's
remaining fingerprinted code that B's also holds (A→B), and the converse (B→A); they differ when one
wrote more than the other. A pair is reported when either share reaches the threshold. Pairs are
ranked by how much code they share (the *tokens*: characters of normalised code, where a name
counts as one), the matching regions of both side by side: the report is evidence to read, not a
verdict.
"""

import csv
import io
import os
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import numpy as np
from copydetect import CodeFingerprint, compare_files
from copydetect.utils import get_token_coverage
from jinja2 import Environment, PackageLoader, select_autoescape

from tpdl import intake, paths, safe, sandbox

THRESHOLD = 0.5  # a pair is reported when A→B or B→A reaches it
NOISE = 25  # characters of normalised code: shorter matches never count
GUARANTEE = 30  # characters of normalised code: longer matches are always found
MAX_CHARS = 100_000  # of one student's code (about a second of tokenising): the rest is not compared
MAX_REGIONS = 30  # matching regions shown for one pair
REGION_CHARS = 4_000  # of one region shown
MAX_REPEATS = 16  # a fingerprint found more often in a pair (both counts multiplied) is not placed
LIMITS = sandbox.Limits(intake_file_bytes=16 * 2**20)  # a notebook with its figures fits; weights need not
TEMPLATES = Environment(
    loader=PackageLoader("tpdl", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
)
CSV_HEADER = (
    "rank", "student_a", "student_b", "a_to_b", "b_to_a", "tokens", "regions", "where_a", "where_b",
    "excerpt_a",
)  # fmt: skip


class Unreadable(Exception):
    """A notebook that nbformat cannot parse, or that does not follow the notebook format."""


@dataclass
class Document:
    """One student's code as a single text, cut into the pieces it came from.

    Each piece follows a comment line naming it (``# tp2.ipynb [sgd_step]``), which shows in a
    region running from one piece into the next; only the pieces themselves are fingerprinted.
    """

    student: str
    text: str = ""
    pieces: list[tuple[int, int, str]] = field(default_factory=list)  # (start, end, label) in text
    notes: list[str] = field(default_factory=list)  # what was left out or could not be read

    def add(self, label: str, code: str) -> None:
        """Append ``code`` under ``label``, as much of it as :data:`MAX_CHARS` leaves room for."""
        room = MAX_CHARS - len(self.text)
        if room <= 0:
            return
        if len(code) > room:
            code = code[:room]
            self.notes.append(f"its code was cut at {MAX_CHARS:,} characters")
        self.text += f"# {label}\n"
        self.pieces.append((len(self.text), len(self.text) + len(code), label))
        self.text += code + "\n\n"

    def where(self, start: int, end: int) -> str:
        """``text[start:end]`` as a reader finds it: the label of its piece, and its lines there."""
        first, last = self._locate(start), self._locate(max(start, end - 1))
        if first[0] == last[0]:
            lines = f"line {first[1]}" if first[1] == last[1] else f"lines {first[1]}-{last[1]}"
            return f"{first[0]}, {lines}"
        return f"{first[0]}, line {first[1]} to {last[0]}, line {last[1]}"

    def _locate(self, offset: int) -> tuple[str, int]:
        begin, label = next(((s, name) for s, _, name in reversed(self.pieces) if s <= offset), (0, ""))
        return label, self.text.count("\n", begin, offset) + 1


@dataclass
class Fingerprints:
    """A document's winnowed fingerprints, in the shape :func:`copydetect.compare_files` reads.

    Each piece is fingerprinted on its own by ``copydetect.CodeFingerprint``; here the pieces'
    normalised texts are laid end to end, and their fingerprints' positions moved to match.
    """

    k: int
    filtered_code: str = ""  # the normalised pieces, end to end
    hash_idx: dict[int, list[int]] = field(default_factory=dict)  # hash -> its positions in filtered_code
    hashes: set[int] = field(default_factory=set)
    offsets: np.ndarray = field(default_factory=lambda: np.zeros((0, 2), dtype=np.int64))
    token_coverage: int = 0  # characters of filtered_code within a fingerprint

    def original(self, spot: int, length: int) -> int:
        """A position of :attr:`filtered_code` as a position of the document's text (``length`` long).

        A row of :attr:`offsets` holds a position of the normalised text and how many characters
        normalising had removed before it; the lookup is the one ``compare_files`` makes.
        """
        if len(self.offsets):
            row = min(int(np.searchsorted(self.offsets[:, 0], spot)), len(self.offsets) - 1)
            spot += int(self.offsets[row, 1])
        return min(spot, length)


def _piece(text: str, noise: int, window: int) -> CodeFingerprint:
    return CodeFingerprint("piece.py", noise, window, language="python", fp=io.StringIO(text))


def fingerprint(document: Document, boilerplate: set[int], noise: int, guarantee: int) -> Fingerprints:
    """The winnowed fingerprints of a student's document, less every k-gram in ``boilerplate``."""
    result = Fingerprints(noise)
    rows = []
    for start, end, _ in document.pieces:
        piece = _piece(document.text[start:end], noise, guarantee - noise + 1)
        base = len(result.filtered_code)
        result.filtered_code += piece.filtered_code
        for hashed, spots in piece.hash_idx.items():
            if hashed not in boilerplate:
                result.hash_idx.setdefault(hashed, []).extend(base + int(spot) for spot in spots)
        rows += [(base + int(at), start - base + int(removed)) for at, removed in piece.offsets]
    result.hashes = set(result.hash_idx)
    result.offsets = np.array(rows, dtype=np.int64).reshape(-1, 2)
    result.token_coverage = int(get_token_coverage(result.hash_idx, noise, len(result.filtered_code)))
    return result


def notebook_code(path: Path) -> list[tuple[str, str]]:
    """The ``(label, source)`` of a notebook's solution cells, or of all its code cells if none is one.

    A solution cell is a code cell whose metadata has ``nbgrader.solution`` true. Nothing in the file
    is trusted: any failure to parse it, or a structure other than the notebook format's, raises
    :class:`Unreadable`.
    """
    try:
        invalid: dict = {}
        notebook = nbformat.reads(
            path.read_text(encoding="utf-8"), as_version=4, capture_validation_error=invalid
        )
        if invalid:
            raise Unreadable(f"{intake.shown(path.name)} does not follow the notebook format")
        cells = [(number, cell) for number, cell in enumerate(notebook.cells, 1) if cell.cell_type == "code"]
    except Unreadable:
        raise
    except Exception as error:  # hostile JSON: whatever parsing raises, the notebook cannot be read
        raise Unreadable(
            f"{intake.shown(path.name)} is not a readable notebook ({type(error).__name__})"
        ) from error
    marked = [(number, cell) for number, cell in cells if _nbgrader(cell).get("solution") is True]
    pieces = []
    for number, cell in marked or cells:
        grade_id = _nbgrader(cell).get("grade_id")
        name = f"[{grade_id}]" if isinstance(grade_id, str) and grade_id else f"cell {number}"
        pieces.append((safe.for_terminal(f"{path.name} {name}", 120), cell.source))
    return pieces


def _nbgrader(cell) -> dict:
    """A cell's nbgrader metadata, or ``{}`` where it is missing or not a mapping."""
    metadata = cell.get("metadata")
    found = metadata.get("nbgrader") if isinstance(metadata, dict) else None
    return found if isinstance(found, dict) else {}


def read_code(folder: Path, assignment: str, student: str) -> Document:
    """The code of one staged submission: its notebook's, then its ``.py`` files' (in name order)."""
    document = Document(student)
    notebook = folder / f"{assignment}.ipynb"
    if notebook.is_file():
        try:
            for label, source in notebook_code(notebook):
                document.add(label, source)
        except Unreadable as error:
            document.notes.append(f"unreadable: {error}")
    else:
        document.notes.append(f"no {assignment}.ipynb")
    for script in sorted(folder.rglob("*.py")):
        label = safe.for_terminal(intake.shown(str(script.relative_to(folder))), 120)
        document.add(label, script.read_bytes().decode("utf-8", "replace"))
    return document


def release_kgrams(assignment: str, release: Path, noise: int) -> set[int]:
    """Every k-gram hash of the release's code: each code cell of its notebook, each ``.py`` file."""
    texts = [script.read_text(encoding="utf-8") for script in sorted(release.rglob("*.py"))]
    notebook = release / f"{assignment}.ipynb"
    if notebook.is_file():
        cells = nbformat.read(notebook, as_version=4).cells
        texts += [cell.source for cell in cells if cell.cell_type == "code"]
    kgrams: set[int] = set()
    for text in texts:
        kgrams |= _piece(text, noise, 1).hashes
    return kgrams


@dataclass
class Region:
    """A stretch of A's code beside the stretch of B's it matches."""

    where_a: str
    where_b: str
    code_a: tuple[str, str, str]  # its whole lines: before the match, the match, after it
    code_b: tuple[str, str, str]
    size: int  # characters of A's normalised code it covers


@dataclass
class Pair:
    """Two students whose code looks alike; A is the one more of whose code is found in the other's."""

    a: str
    b: str
    a_to_b: float  # the share of A's fingerprinted code found in B's
    b_to_a: float
    tokens: int  # characters of A's normalised code (where a name counts as one) found in B's
    regions: list[Region]


@dataclass
class Comparison:
    """A class compared: who was, what the report notes of whom, and the pairs reported, best first."""

    assignment: str
    threshold: float
    noise: int
    guarantee: int
    students: list[str]
    notes: dict[str, list[str]]  # student (or folder refused) -> notes
    pairs: list[Pair]


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

    Every fingerprint the two hold is a match: a position in A's normalised code and one in B's.
    Taken in A's order, a match extends a run when it lies at most ``reach`` characters past the
    run's last match in A and has moved about as far (within ``k``) in B: the overlapping k-grams
    of one copied stretch, or two stretches parted by a small edit. Any other match starts a run.
    A fingerprint repeated more than :data:`MAX_REPEATS` times in the pair cannot be placed and is
    left out. Each run is ``[a_first, a_last, b_last, b_low, b_high]``.
    """
    matches = sorted(
        (spot_a, spot_b)
        for shared in prints_a.hashes & prints_b.hashes
        if len(prints_a.hash_idx[shared]) * len(prints_b.hash_idx[shared]) <= MAX_REPEATS
        for spot_a in prints_a.hash_idx[shared]
        for spot_b in prints_b.hash_idx[shared]
    )
    runs: list[list[int]] = []
    open_runs: list[list[int]] = []  # those the next matches may still extend
    for spot_a, spot_b in matches:
        open_runs = [run for run in open_runs if spot_a - run[1] <= reach]
        run = next(
            (r for r in open_runs if spot_a > r[1] and abs((spot_b - r[2]) - (spot_a - r[1])) <= prints_a.k),
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
        start_a, end_a = (prints_a.original(spot, len(first.text)) for spot in (a_start, a_end))
        start_b, end_b = (prints_b.original(spot, len(second.text)) for spot in (b_start, b_end))
        found.append(
            Region(
                first.where(start_a, end_a), second.where(start_b, end_b),
                _lines(first.text, start_a, end_a), _lines(second.text, start_b, end_b), a_end - a_start,
            )
        )  # fmt: skip
    return found


def read_class(assignment: str, submissions: Path, limits: sandbox.Limits) -> tuple[dict, dict]:
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
            finally:
                staged.remove()
            document.notes += [f"left out: {path} ({why})" for path, why in staged.dropped[:5]]
            if len(staged.dropped) > 5:
                document.notes.append(f"and {len(staged.dropped) - 5} more files left out")
    return documents, notes


def compare_class(
    assignment: str,
    submissions: Path | None = None,
    threshold: float = THRESHOLD,
    release: Path | None = None,
    noise: int = NOISE,
    guarantee: int = GUARANTEE,
    limits: sandbox.Limits = LIMITS,
) -> Comparison:
    """Compare every two submissions of ``assignment``: the pairs where A→B or B→A reaches ``threshold``.

    ``submissions`` defaults to ``submitted/`` and ``release`` to ``release/<assignment>/``.
    """
    submissions = Path(submissions or paths.submitted())
    release = Path(release or paths.release(assignment))
    if not release.is_dir():
        raise FileNotFoundError(
            f"no release of {assignment} to remove: build it with `tpdl release {assignment}`"
        )
    boilerplate = release_kgrams(assignment, release, noise)
    documents, notes = read_class(assignment, submissions, limits)
    prints = {
        student: fingerprint(document, boilerplate, noise, guarantee)
        for student, document in documents.items()
    }
    for student, document in documents.items():
        if not prints[student].hashes:
            document.notes.append("no code of its own beyond the release's: not compared")
        if document.notes:
            notes[student] = document.notes
    compared = sorted(student for student in documents if prints[student].hashes)
    pairs = []
    for index, one in enumerate(compared):
        for other in compared[index + 1 :]:
            _, shares, _ = compare_files(prints[one], prints[other])
            if max(shares) < threshold:
                continue
            a, b = (one, other) if shares[0] >= shares[1] else (other, one)
            tokens, (a_to_b, b_to_a), _ = compare_files(prints[a], prints[b])
            shown = regions(documents[a], documents[b], prints[a], prints[b])
            pairs.append(Pair(a, b, float(a_to_b), float(b_to_a), int(tokens), shown))
    pairs.sort(key=lambda pair: (-pair.tokens, -pair.a_to_b, pair.a, pair.b))
    return Comparison(assignment, threshold, noise, guarantee, compared, dict(sorted(notes.items())), pairs)


def similarity_csv(comparison: Comparison) -> str:
    """One row per pair reported, best first, with its longest region; every cell safe for a spreadsheet."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_HEADER)
    for rank, pair in enumerate(comparison.pairs, 1):
        longest = pair.regions[0] if pair.regions else Region("", "", ("", "", ""), ("", "", ""), 0)
        lines = (longest.code_a[0] + longest.code_a[1]).splitlines()
        excerpt = next((line.strip() for line in lines if line.strip()), "")[:120]
        row = [
            rank, pair.a, pair.b, round(pair.a_to_b, 3), round(pair.b_to_a, 3), pair.tokens,
            len(pair.regions), longest.where_a, longest.where_b, excerpt,
        ]  # fmt: skip
        writer.writerow([safe.for_csv(cell) for cell in row])
    return buffer.getvalue()


def similarity_html(comparison: Comparison) -> str:
    """The pairs ranked, and the matching regions of each side by side; every student text escaped."""
    return TEMPLATES.get_template("similarity.html.j2").render(
        assignment=comparison.assignment, threshold=f"{comparison.threshold:.0%}",
        students=comparison.students, notes=comparison.notes, pairs=comparison.pairs,
        noise=comparison.noise, guarantee=comparison.guarantee, max_chars=f"{MAX_CHARS:,}",
    )  # fmt: skip


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def main(
    assignment: str,
    submissions: Path | None = None,
    html: Path | None = None,
    csv_path: Path | None = None,
    threshold: float = THRESHOLD,
) -> int:
    """``tpdl similarity``: write the report, by default ``reports/<assignment>-similarity.{html,csv}``."""
    try:
        comparison = compare_class(assignment, submissions, threshold)
    except (FileNotFoundError, NotADirectoryError) as error:
        print(f"tpdl similarity: {safe.for_terminal(error)}", file=sys.stderr)
        return 2
    html = Path(html or paths.reports() / f"{assignment}-similarity.html")
    csv_path = Path(csv_path or paths.reports() / f"{assignment}-similarity.csv")
    _write(html, similarity_html(comparison))
    _write(csv_path, similarity_csv(comparison))
    print(
        f"{assignment}: {len(comparison.students)} submissions compared, {len(comparison.pairs)} pairs "
        f"at or above {threshold:.0%}, {len(comparison.notes)} noted"
    )
    for pair in comparison.pairs[:10]:
        print(
            f"  {pair.a} -> {pair.b}: {pair.a_to_b:.0%}, {pair.b} -> {pair.a}: {pair.b_to_a:.0%}"
            f" ({pair.tokens} tokens)"
        )
    print(f"written: {html}, {csv_path}")
    return 0
