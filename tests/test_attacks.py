"""Does every catalogued attack show that it ran, earn nothing, and leave the class run whole?

The attacks of each TP (``tests/attacks/<tp>/``, see ``tpdl.authoring.catalogue``) are graded as one class
with honest students: after every attack that runs code in the notebook, an honest student (the
reference), so that an attack reaching the judge, the sandbox or the next student would show; one
more at the end for the others. Each attack leaves its proof in what grading wrote, or it fails;
one that runs into a worker's limit also leaves the figure the kernel kept (its peak memory, the
bytes or files it wrote), which must show the limit reached and held.
The instructor-facing outputs of every attacked class (the terminal table, the CSV, the HTML
report, the feedback pages and formgrader's view of the graded notebooks) must hold no active
content, nothing a browser would load from outside the page, and no control characters.
"""

import contextlib
import csv
import dataclasses
import html.parser
import io
import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import warm_pool
from instructor_pages import formgrader_views, outside

from tpdl.authoring import catalogue
from tpdl.classroom import run as classroom
from tpdl.core import manifest, paths
from tpdl.judge import sandbox

pytestmark = pytest.mark.slow

ATTACKS = paths.course_dir() / "tests" / "attacks"
# Short limits: the attacks that hang cost their limits; an honest student's slowest request (TP1's
# first MLflow run, which creates the store's tables) takes about 4 s on 2 busy cores.
LIMITS = sandbox.Limits(memory_bytes=4 * 2**30, cpu_seconds=30, processes=32, notebook_s=10.0, request_s=10.0)
# TP1's pilot graders ask quick questions only (each answered in under 0.1 s here, the notebook's run
# aside): its attacked class, where the attacks that hang cost one request limit each time a check
# asks, waits 4 s for an answer.
PILOT_LIMITS = dataclasses.replace(LIMITS, request_s=4.0)
# The attacks on a worker's limits (``limit:``) form a class of their own, whose honest students keep
# full marks under the same smaller limits: running into them costs seconds (this machine fills
# memory at about 1 GB/s). Each process may still map 4 GiB: the control group is what bounds memory.
KERNEL_LIMITS = dataclasses.replace(
    LIMITS,
    memory_bytes=1536 * 2**20,
    address_space_bytes=4 * 2**30,
    scratch_bytes=256 * 2**20,
    scratch_files=20_000,
)
ENTRIES = [(a.name, e) for a in sorted(ATTACKS.iterdir()) if a.is_dir() for e in catalogue.entries(a)]
GRADED = ("cell", "edit", "class")
CASES = [(index, tp, entry) for index, (tp, entry) in enumerate(ENTRIES) if entry.kind in GRADED]
# The attacks of a TP are graded as one class, except that those needing more of a TP's graders than
# its quick pilot ones form a class per set of graders they need (every student of a class is graded
# by all of its graders: the many attacks on the notebook stay quick to grade, and so does each
# attack on a deliverable), and those running into a worker's limits another.
GROUPS = sorted({(tp, tuple(sorted(entry.graders)), bool(entry.limit)) for _, tp, entry in CASES})
RERUNS = [(tp, entry) for tp, entry in ENTRIES if entry.kind == "rerun"]
LAST_VICTIM = "zz-honest"


def attacker_id(index: int, entry) -> str:
    return f"{index:02d}a-{entry.id}"


def victim_id(index: int) -> str:
    return f"{index:02d}b-honest"


@contextlib.contextmanager
def course_dir(root: Path):
    previous = os.environ.get("TPDL_COURSE_DIR")
    os.environ["TPDL_COURSE_DIR"] = str(root)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("TPDL_COURSE_DIR", None)
        else:
            os.environ["TPDL_COURSE_DIR"] = previous


@dataclass
class Graded:
    """One attacked class, graded: its course folder, outcome, and what the terminal showed."""

    root: Path
    outcome: classroom.ClassResult
    terminal: str
    planted: dict[str, list[str]] = field(default_factory=dict)  # class attack -> the folders it added

    def evidence(self, student: str) -> str:
        """Everything grading wrote about one student, as text."""
        tp = self.outcome.assignment
        texts = [json.dumps(self.outcome.students.get(student, {}))]
        graded = self.root / "autograded" / student / tp
        for path in (
            graded / "grading.log",
            graded / f"{tp}.ipynb",
            self.root / "feedback" / student / tp / f"{tp}.html",
        ):
            if path.is_file():
                texts.append(path.read_text(encoding="utf-8", errors="replace"))
        return "\n".join(texts)

    def class_evidence(self) -> str:
        folder = self.root / "reports" / self.outcome.assignment
        texts = [json.dumps(self.outcome.refused), self.terminal]
        texts += [p.read_text(encoding="utf-8") for p in (folder / "grades.csv", folder / "report.html")]
        return "\n".join(texts)


def group_of(tp: str, entry) -> tuple[str, tuple[str, ...], bool]:
    return tp, tuple(sorted(entry.graders)), bool(entry.limit)


def group_name(group: tuple[str, tuple[str, ...], bool]) -> str:
    tp, graders, kernel = group
    named = "".join(f"-{module.removeprefix('test_').removesuffix('.py')}" for module in graders)
    return f"{tp}{named}{'-limits' if kernel else ''}"


def in_group(group, *values, id: str):
    """A parameter of ``group``'s attacked class (``graded_class``); pytest runs a group's tests together."""
    return pytest.param(group, *values, id=id)


@pytest.fixture(scope="module")
def graded_class(request, built_once, new_course, shared_pool) -> Graded:
    """The attacked class of the test's group (its parameter), graded once per test run, in the test
    process's warm pool (the jail outlives the class's attackers, as a pool's does between runs)."""
    group = request.param

    def build(folder: Path) -> Graded:
        with shared_pool.used():
            return grade_group(group, folder, new_course)

    return built_once(f"attacks-{group_name(group)}", build)


def limits_of(group: tuple[str, tuple[str, ...], bool]) -> sandbox.Limits:
    tp, graders, kernel = group
    if kernel:
        return KERNEL_LIMITS
    return PILOT_LIMITS if tp == "tp1" and not graders else LIMITS


def grade_group(group, folder: Path, new_course) -> Graded:
    tp = group[0]
    cases = [(index, entry) for index, a, entry in CASES if group_of(a, entry) == group]
    extra = {tp: tuple(sorted({module for _, entry in cases for module in entry.graders}))}
    root = new_course(folder / "course", extra)
    reference = paths.sample_submission("reference", tp)
    submissions = root / "submitted"
    submissions.mkdir()
    planted = {}
    with course_dir(root):
        for index, entry in cases:
            if entry.kind == "class":
                planted[entry.id] = catalogue.namespace(entry)["plant"](submissions, tp)
                continue
            base = paths.sample_submission(entry.base, tp)
            catalogue.build(entry, base, submissions / attacker_id(index, entry) / tp, f"{tp}.ipynb")
            if entry.victim == "next":
                shutil.copytree(reference, submissions / victim_id(index) / tp)
        shutil.copytree(reference, submissions / LAST_VICTIM / tp)
        terminal = io.StringIO()
        with contextlib.redirect_stdout(terminal):
            limits = limits_of(group)
            outcome = classroom.grade_class(tp, submissions, progress=False, limits=limits)
    return Graded(root, outcome, terminal.getvalue(), planted)


def test_every_tp_but_those_with_pilot_checks_is_graded_whole_in_an_attacked_class():
    """The reference of a TP without pilot checks earns every point of every grader here only (its
    last honest student, after the attackers): the catalogue grades the others' reference whole."""
    attacked = {tp for tp, _, _ in GROUPS}
    assert attacked >= {a for a in paths.assignments() if not manifest.load(a).pilot}


def test_the_catalogue_holds_attacks_of_every_kind_on_every_tp():
    kinds = {(tp, entry.kind) for tp, entry in ENTRIES}
    assert {tp for tp, _ in kinds} == set(paths.assignments()), "every TP is attacked"
    assert {kind for _, kind in kinds} == {"cell", "edit", "class", "rerun"}


PARAMS = [in_group(group_of(tp, e), i, tp, e, id=f"{tp}/{e.id}") for i, tp, e in CASES]


@pytest.mark.parametrize(
    ("graded_class", "index", "tp", "entry"), PARAMS, indirect=["graded_class"], scope="module"
)
def test_attack_is_proven_to_have_run(graded_class, index, tp, entry):
    if entry.kind == "class":
        evidence = graded_class.class_evidence() + "".join(
            graded_class.evidence(name) for name in graded_class.planted[entry.id]
        )
    else:
        evidence = graded_class.evidence(attacker_id(index, entry))
        checks = {c["name"]: c for c in graded_class.outcome.students[attacker_id(index, entry)]["checks"]}
        uncounted = [checks[n]["message"] for n in entry.loses if n in checks and not checks[n]["counted"]]
        if uncounted and entry.proof not in evidence:
            pytest.skip(uncounted[0])  # the check its proof comes from cannot run on this machine
    assert entry.proof in evidence, f"{entry.id} left no proof that it ran ({entry.proof!r} not found)"


@pytest.mark.parametrize(
    ("graded_class", "index", "tp", "entry"), PARAMS, indirect=["graded_class"], scope="module"
)
def test_attack_earns_nothing_and_harms_no_one(graded_class, index, tp, entry):
    students = graded_class.outcome.students
    if entry.kind == "class":
        catalogue.namespace(entry)["expect"](graded_class.outcome)
    else:
        attacker = students[attacker_id(index, entry)]
        checks = {c["name"]: c for c in attacker["checks"]}
        if entry.base == "untouched":
            assert attacker["score"] == 0, (
                f"{entry.id} earned {attacker['score']} points: {attacker['checks']}"
            )
        else:
            uncounted = [
                checks[n]["message"] for n in entry.loses if n in checks and not checks[n]["counted"]
            ]
            if uncounted:  # a check this machine cannot run (no Docker engine, no MNIST training set)
                pytest.skip(uncounted[0])
            kept = [name for name in entry.loses if name not in checks or checks[name]["passed"]]
            assert not kept, f"{entry.id} kept (or never met) the checks {kept}"
        saved = json.loads(
            (graded_class.root / "autograded" / attacker_id(index, entry) / tp / "results.json").read_text()
        )
        assert saved["score"] == attacker["score"]
    victim = students[victim_id(index) if entry.victim == "next" else LAST_VICTIM]
    assert victim["score"] == victim["max_score"] > 0, (
        f"the student graded after {entry.id} lost points: {victim['checks']}"
    )


# What each worker held at most, as the sandbox writes it into the grading log (``sandbox.Worker.report``).
HELD = re.compile(
    r"^(?P<kind>\w+) worker: memory at most (?P<memory>\d+) bytes of (?P<memory_limit>\d+) "
    r"\((?P<by>[^)]*)\), stopped at the memory limit (?P<stopped>\d+) times, forks refused \d+"
    r"(?:; scratch (?P<scratch>\d+) bytes of (?P<scratch_limit>\d+), "
    r"(?P<files>\d+) files of (?P<files_limit>\d+))?",
    re.MULTILINE,
)
# A control group's charges may pass its limit by what a process being killed still charges; a tmpfs
# never passes its bounds.
SLACK = {"memory": 8 * 2**20, "scratch": 0, "files": 0}
FULL = {"memory": 0, "scratch": 64 * 1024, "files": 0}  # how close to its bound a limit met comes
LIMIT_PARAMS = [in_group(group_of(tp, e), i, tp, e, id=f"{tp}/{e.id}") for i, tp, e in CASES if e.limit]


@pytest.mark.parametrize(
    ("graded_class", "index", "tp", "entry"), LIMIT_PARAMS, indirect=["graded_class"], scope="module"
)
def test_the_kernel_held_the_limit_the_attack_ran_into(graded_class, index, tp, entry):
    log = graded_class.root / "autograded" / attacker_id(index, entry) / tp / "grading.log"
    figures = [m.groupdict() for m in HELD.finditer(log.read_text(encoding="utf-8"))]
    notebook = [f for f in figures if f["kind"] == "notebook"]
    assert notebook, f"{entry.id}: the grading log holds no figure of the notebook worker"
    if entry.limit == "memory" and "cgroup" not in notebook[0]["by"]:
        pytest.skip(f"no cgroup on this machine: memory is watched by {notebook[0]['by']}")
    if entry.limit != "memory" and notebook[0]["scratch"] is None:
        pytest.skip("the workers' scratch space is no tmpfs here (the judge is not root)")
    used = [int(f[entry.limit]) for f in notebook]
    bound = [int(f[f"{entry.limit}_limit"]) for f in notebook]
    assert all(u <= b + SLACK[entry.limit] for u, b in zip(used, bound)), (
        f"{entry.id}: a worker held more than its {entry.limit} limit: {list(zip(used, bound))}"
    )
    assert any(u >= b - FULL[entry.limit] for u, b in zip(used, bound)), (
        f"{entry.id} never reached its {entry.limit} limit: {list(zip(used, bound))}"
    )
    if entry.limit == "memory":
        assert any(int(f["stopped"]) for f in notebook), (
            f"{entry.id}: nothing was stopped at the memory limit"
        )


GROUP_PARAMS = [in_group(group, group, id=group_name(group)) for group in GROUPS]


@pytest.mark.parametrize(("graded_class", "group"), GROUP_PARAMS, indirect=["graded_class"], scope="module")
def test_every_student_of_the_attacked_class_was_graded_once(graded_class, group):
    tp, outcome = group[0], graded_class.outcome
    members = [(i, e) for i, a, e in CASES if group_of(a, e) == group]
    expected = {attacker_id(i, e) for i, e in members if e.kind != "class"}
    expected |= {victim_id(i) for i, e in members if e.victim == "next"} | {LAST_VICTIM}
    assert expected <= set(outcome.students), f"{tp}: students missing {expected - set(outcome.students)}"
    rows = list(csv.reader((graded_class.root / "reports" / tp / "grades.csv").open(encoding="utf-8")))
    assert len(rows) == 1 + len(outcome.students), f"{tp}: the CSV should hold one row per student"
    assert not outcome.infrastructure, f"{tp}: grading failed for {outcome.infrastructure}"


@pytest.mark.parametrize(("graded_class", "group"), GROUP_PARAMS, indirect=["graded_class"], scope="module")
def test_no_attack_reached_the_judges_machine(graded_class, group):
    assert not os.path.exists("/tmp/pwned")
    for root in (graded_class.root, paths.course_dir()):  # the attacked class's course, and the kit's
        assert not (root / "results.json").exists(), f"a file was written into {root}"
        assert not (root / "autograded" / "results.json").exists()


# --------------------------------------------------------------------------- the outputs an instructor opens

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
SPREADSHEET_ACTIVE = ("=", "+", "-", "@", "\t", "\r")


class ActiveContent(html.parser.HTMLParser):
    """Collects what a browser would run or load from an HTML page: scripts, handlers, active URLs."""

    # What runs or loads: scripts, frames, plug-ins, forms; <style> and <meta charset> are inert.
    ACTIVE_TAGS = {"script", "iframe", "object", "embed", "frame", "frameset", "base", "form", "link"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._script: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        # A <meta http-equiv> acts (a refresh, a cookie), except a policy that forbids loading.
        equivs = [(value or "").lower() for name, value in attrs if name == "http-equiv"]
        acting = tag == "meta" and any(equiv != "content-security-policy" for equiv in equivs)
        if tag in self.ACTIVE_TAGS or acting:
            self.found.append(f"<{tag} {sorted(attrs)}>")
        if tag == "script":
            self._script = []
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"{tag}[{name}]")
            if value and re.match(r"\s*(javascript|vbscript|data:text/html)", value, re.I):
                self.found.append(f"{tag}[{name}={value[:40]}]")
            if name == "style" and value and re.search(r"url\(|expression\(", value, re.I):
                self.found.append(f"{tag}[style={value[:40]}]")

    def handle_data(self, data):
        if self._script is not None:
            self._script.append(data)

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            self.found.append(f"script body {hash(''.join(self._script).strip())}")
            self._script = None


def active_content(page: str) -> list[str]:
    parser = ActiveContent()
    parser.feed(page)
    return parser.found


@pytest.mark.parametrize(("graded_class", "group"), GROUP_PARAMS, indirect=["graded_class"], scope="module")
def test_what_the_instructor_opens_holds_nothing_active(graded_class, group):
    tp = group[0]
    root = graded_class.root
    assert not CONTROL.search(graded_class.terminal), "the terminal table holds control characters"
    with (root / "reports" / tp / "grades.csv").open(encoding="utf-8") as handle:
        for row in csv.reader(handle):
            for cell in row:
                assert not cell.startswith(SPREADSHEET_ACTIVE), (
                    f"a CSV cell a spreadsheet would evaluate: {cell!r}"
                )
                assert not CONTROL.search(cell), f"a CSV cell holds control characters: {cell!r}"
    pages = [
        root / "reports" / tp / "report.html",
        *sorted((root / "feedback").glob(f"*/{tp}/{tp}.html")),
    ]
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert not active_content(text), (
            f"{page.relative_to(root)} holds active content: {active_content(text)}"
        )
        assert not outside(text), f"{page.relative_to(root)} loads from outside: {outside(text)}"
        assert not CONTROL.search(text), f"{page.relative_to(root)} holds control characters"
    notebooks = sorted((root / "autograded").glob(f"*/{tp}/{tp}.ipynb"))
    assert notebooks, "formgrader would have no notebook to show"
    release_view, *views = formgrader_views(root, [paths.release(tp) / f"{tp}.ipynb", *notebooks])
    baseline = set(active_content(release_view))
    for notebook, view in zip(notebooks, views, strict=True):
        added = [item for item in active_content(view) if item not in baseline]
        assert not added, f"formgrader's view of {notebook.relative_to(root)} holds active content: {added}"
        loaded = outside(view, release_view)  # formgrader's own scripts and styles are the release's too
        assert not loaded, f"formgrader's view of {notebook.relative_to(root)} loads from outside: {loaded}"


# --------------------------------------------------------------------------- results reused


class Rerun:
    """A scratch class that a ``rerun`` attack grades again and again, changing something in between,
    in the test process's warm pool (its fifteen short class runs share one jail)."""

    def __init__(self, root: Path, tp: str, pool: warm_pool.SharedPool):
        self.root, self.tp, self.limits, self.pool = root, tp, LIMITS, pool
        self.submissions = root / "submitted"
        self.submissions.mkdir(parents=True, exist_ok=True)

    def submit(self, student: str, base: str = "reference") -> Path:
        target = self.submissions / student / self.tp
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(paths.sample_submission(base, self.tp), target, symlinks=True)
        return target

    def grade(self, limits: sandbox.Limits | None = None, **environment) -> classroom.ClassResult:
        with contextlib.ExitStack() as stack:
            stack.enter_context(course_dir(self.root))
            stack.enter_context(self.pool.used())
            patch = stack.enter_context(pytest.MonkeyPatch.context())
            for name, value in environment.items():
                if value is None:
                    patch.delenv(name, raising=False)
                else:
                    patch.setenv(name, value)
            stack.enter_context(contextlib.redirect_stdout(io.StringIO()))
            return classroom.grade_class(
                self.tp, self.submissions, progress=False, limits=limits or self.limits
            )


@pytest.mark.parametrize(("tp", "entry"), RERUNS, ids=[f"{tp}/{e.id}" for tp, e in RERUNS])
def test_no_result_is_reused_where_what_it_depended_on_changed(tmp_path, new_course, shared_pool, tp, entry):
    root = new_course(tmp_path / "course")
    proof = catalogue.namespace(entry)["scenario"](Rerun(root, tp, shared_pool))
    assert entry.proof in proof, f"{entry.id} left no proof that it ran ({entry.proof!r} not in {proof!r})"
