"""``tpdl publish DEST``: the student releases as a git repository, one branch per TP and language.

The repository is laid out for students: ``main`` holds the course overview (a README listing
the TPs and the branch of each, in English then in French), and each ``tp1`` ... ``tp5`` branch
holds exactly the release of its TP, ``release/<tp>/`` as ``tpdl release`` built it, with a short
README of its own; ``tp1-fr`` ... ``tp5-fr`` hold the French editions, their READMEs in French. It is
ready to be pushed to the course's git host, or to serve as a GitHub Classroom template.

Every branch also holds the student package, ``wheels/tpdl_course-<version>-py3-none-any.whl``
(:mod:`tpdl.authoring.wheel`, built once per publication; git stores it once), and its README says
how to install it in one command: a student who clones only the branch of a TP has it there.

Nothing else of the course can reach it. A TP's branch is made of the files of one folder,
``release/<tp>/`` (beside its README and the wheel), read as regular files only: a link, a file
that resolves outside that folder or into one of the instructor's folders (``source/``,
``graders/``, ``solutions/``, the sample class, submissions, grades, feedback) and any ``.db``
file are refused. Then the leak finder runs on every branch, on exactly the bytes about to be
committed: :func:`tpdl.authoring.notebooks.find_leaks` on the release folder, and a scan of each
file (the notebook's cells and outputs, the READMEs) for nbgrader's hidden markers and for the
lines of the TP's solutions; the wheel is opened, and any file of it outside the student runtime,
or holding a hidden marker, is a finding too (its modules are the kit's own code that the
notebooks call, so they are not compared with solution lines). Any finding refuses the whole
publication before anything is written to DEST, and names the file and what was found in it.

The branches are built with git's plumbing, in DEST alone and without a work tree: each file is
stored with ``git hash-object``, the tree is assembled in a temporary index (``GIT_INDEX_FILE``)
and written with ``git write-tree``, the commit made by ``git commit-tree`` and every branch moved
at once by one ``git update-ref --stdin`` transaction. The course folder's own repository, if it
has one, is never touched. A branch whose tree is the tree of its tip gets no commit; a changed
release gets exactly one, whose parent is the previous tip, so a student's ``git pull`` is a
fast-forward and the history of the releases is kept.

DEST is an existing repository (bare, or a work tree that has none of the published branches
checked out, as ``git push`` requires of a branch it updates), or a path that does not exist yet
or an empty folder: there a **bare** repository is created, whose ``HEAD`` is ``main``, the form
a repository takes on a git host.
"""

import hashlib
import json
import os
import stat
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from tpdl.authoring import notebooks, wheel
from tpdl.core import paths

OVERVIEW = "main"
README = "README.md"
WHEELS = "wheels"  # the folder of every branch that holds the student package
AUTHOR = ("tpdl publish", "publish@tpdl.invalid")
REGULAR, EXECUTABLE = "100644", "100755"


class PublishError(Exception):
    """The publication was refused; nothing was written to DEST."""


@dataclass(frozen=True)
class Blob:
    """One file of a branch: its bytes and its git mode (regular or executable)."""

    data: bytes
    mode: str = REGULAR


@dataclass(frozen=True)
class Branch:
    """What one branch should hold: its files by path (``/``-separated) and its commit message."""

    name: str
    files: dict[str, Blob]
    message: str
    solution_lines: frozenset[str]  # the solution lines none of its files may hold
    origin: str = ""  # the course's folder its files come from, all but the README and the wheel

    def where(self, name: str) -> str:
        """Where a file of the branch comes from, as a finding names it."""
        given = name == README or name.startswith(f"{WHEELS}/")
        return f"{self.name}:{name}" if given or not self.origin else f"{self.origin}{name}"


@dataclass(frozen=True)
class Outcome:
    """What publishing did to one branch: its tip before (``None`` for a new branch) and after."""

    branch: str
    commit: str
    previous: str | None

    @property
    def changed(self) -> bool:
        return self.commit != self.previous

    def summary(self) -> str:
        if not self.changed:
            return f"{self.branch}: unchanged ({self.commit[:10]})"
        if self.previous is None:
            return f"{self.branch}: new branch, commit {self.commit[:10]}"
        return f"{self.branch}: new commit {self.commit[:10]} (parent {self.previous[:10]})"


# ------------------------------------------------------------------------------------------------
# What the branches hold


def kept_out() -> list[Path]:
    """The course's folders whose content never leaves the instructor's machine."""
    folders = [
        paths.source(),
        paths.graders(),
        paths.solutions(),
        paths.sample_class(),
        paths.submitted(),
        paths.autograded(),
        paths.feedback(),
        paths.reports(),
    ]
    return [folder.resolve() for folder in folders]


def release_files(assignment: str) -> dict[str, Blob]:
    """The files of ``release/<assignment>/``, refusing anything that is not plainly part of it.

    Only regular files of the release folder are read. A link (even one pointing inside the
    release), a special file, a file resolving outside the folder or into a kept-out folder, and
    a database file (a gradebook, a tracking store) raise :class:`PublishError`.
    """
    root = paths.release(assignment)
    if root.is_symlink():
        raise PublishError(f"release/{assignment}/: a link; a release is a folder of the course")
    if not root.is_dir():
        raise PublishError(f"release/{assignment}/ does not exist: build it with `tpdl release {assignment}`")
    real_root, forbidden = root.resolve(), kept_out()
    if any(real_root.is_relative_to(folder) for folder in forbidden):
        raise PublishError(f"release/{assignment}/ resolves to {real_root}, a folder never published")
    files: dict[str, Blob] = {}
    for path in sorted(root.rglob("*")):
        name = path.relative_to(root).as_posix()
        where = f"release/{assignment}/{name}"
        if path.is_symlink():
            raise PublishError(f"{where}: a link; a release holds regular files only")
        if path.is_dir():
            continue
        if not path.is_file():
            raise PublishError(f"{where}: not a regular file")
        real = path.resolve()
        if not real.is_relative_to(real_root) or any(real.is_relative_to(f) for f in forbidden):
            raise PublishError(f"{where}: resolves to {real}, outside the release")
        if path.suffix == ".db":
            raise PublishError(f"{where}: a database file (gradebook or tracking store) is never published")
        mode = EXECUTABLE if path.stat().st_mode & stat.S_IXUSR else REGULAR
        files[name] = Blob(path.read_bytes(), mode)
    if not files:
        raise PublishError(f"release/{assignment}/ is empty: build it with `tpdl release {assignment}`")
    return files


def digest(files: dict[str, Blob]) -> str:
    """The SHA-256 of a set of files: each path, mode, length and content, in path order."""
    hashed = hashlib.sha256()
    for name, blob in sorted(files.items()):
        hashed.update(f"{name}\0{blob.mode}\0{len(blob.data)}\0".encode() + blob.data)
    return hashed.hexdigest()


def _joined(text: str | list[str]) -> str:
    """A notebook field that is a string or, as nbformat writes it, a list of lines."""
    return text if isinstance(text, str) else "".join(text)


def notebook_cells(data: bytes) -> list[dict]:
    """The cells of a notebook file, or none where it is not a notebook's JSON."""
    try:
        cells = json.loads(data).get("cells", [])
    except (UnicodeDecodeError, ValueError, AttributeError):
        return []
    return [cell for cell in cells if isinstance(cell, dict)] if isinstance(cells, list) else []


def notebook_title(data: bytes | None, default: str) -> str:
    """The first level-one heading of a notebook's markdown cells, or ``default``."""
    for cell in notebook_cells(data or b""):
        if cell.get("cell_type") == "markdown":
            for line in _joined(cell.get("source", "")).splitlines():
                if line.startswith("# "):
                    return line[2:].strip()
    return default


# What the READMEs of the branches say, in the language of the edition they hold (the overview says
# it in every language of the course).
WORDS = {
    "en": {
        "colon": ": ",
        "notebook": "the notebook of the TP: work through it top to bottom",
        "handin": "what `tpdl check {assignment}` checks before you hand in",
        "config": "the settings of `nbgrader validate {notebook}`",
        "stub": "a file you complete (its `YOUR CODE HERE` parts)",
        "other": "a file the notebook works with",
        "setup": "## Set up, once",
        "setup text": "The notebooks import `tpdl`, the course's package. Install it, with what it needs,"
        " in the\nPython 3.11 or 3.12 your notebooks run on (best in a virtual environment of their own):",
        "intro": "This branch holds the student release of {assignment}. Open `{notebook}` in JupyterLab,"
        "\nfill in every cell that says `YOUR CODE HERE` and run the visible tests under each exercise.",
        "files": "## Files",
        "package": "the course's package, installed as above",
        "hand in": "Hand in: {files}.",
        "overview": "# The TPs of the course",
        "overview text": "Each TP lives on a branch of its own, which holds its notebook and the files it"
        " works with.\nCheck out the branch of the TP you work on:",
        "editions": "Each TP is also published in French, on the branch of the same name ending in `-fr`"
        "\n(`{example}-fr`): choose the branch of the language you work in.",
        "alone": "Or fetch one TP alone, in a folder of its own:",
        "repository": "<this repository>",
    },
    "fr": {
        "colon": "\u00a0: ",
        "notebook": "le notebook du TP\u00a0: suivez-le de haut en bas",
        "handin": "ce que `tpdl check {assignment}` vérifie avant le rendu",
        "config": "les réglages de `nbgrader validate {notebook}`",
        "stub": "un fichier à compléter (ses parties `YOUR CODE HERE`)",
        "other": "un fichier utilisé par le notebook",
        "setup": "## Installation, une fois pour toutes",
        "setup text": "Les notebooks importent `tpdl`, le paquet du cours. Installez-le, avec ce dont il a"
        " besoin,\ndans le Python 3.11 ou 3.12 de vos notebooks (de préférence dans un environnement"
        " virtuel dédié)\u00a0:",
        "intro": "Cette branche contient la version étudiante de {assignment}. Ouvrez `{notebook}` dans"
        " JupyterLab,\ncomplétez chaque cellule marquée `YOUR CODE HERE` et lancez les tests visibles sous"
        " chaque exercice.",
        "files": "## Fichiers",
        "package": "le paquet du cours, installé comme ci-dessus",
        "hand in": "À rendre\u00a0: {files}.",
        "overview": "# Les TP du cours",
        "overview text": "Chaque TP a sa propre branche, qui contient son notebook et les fichiers qu'il"
        " utilise.\nPlacez-vous sur la branche du TP que vous faites\u00a0:",
        "editions": "Chaque TP existe en anglais et en français\u00a0: la branche `{example}-fr` contient"
        " l'édition\nfrançaise de `{example}`. Choisissez la branche de la langue dans laquelle vous"
        " travaillez.",
        "alone": "Ou récupérez un seul TP, dans un dossier à part\u00a0:",
        "repository": "<ce dépôt>",
    },
}


def _words(assignment: str) -> dict[str, str]:
    return WORDS.get(paths.language_of(assignment), WORDS[paths.SOURCE_LANGUAGE])


def role(name: str, blob: Blob, assignment: str) -> str:
    """What a file of a TP's release is for, as its README tells the student."""
    words, notebook = _words(assignment), f"{assignment}.ipynb"
    if name == notebook:
        return words["notebook"]
    if name == "handin.json":
        return words["handin"].format(assignment=assignment)
    if name == "nbgrader_config.py":
        return words["config"].format(notebook=notebook)
    if notebooks.TEXT_STUB[0].encode() in blob.data:
        return words["stub"]
    return words["other"]


def student_package() -> tuple[str, Blob]:
    """The student package, built now: its path in every branch and its bytes."""
    with tempfile.TemporaryDirectory(prefix="tpdl-publish-") as scratch:
        try:
            built = wheel.build(Path(scratch))
        except wheel.WheelError as error:
            raise PublishError(f"the student package: {error}") from error
        return f"{WHEELS}/{built.name}", Blob(built.read_bytes())


def install_lines(package: str, language: str = paths.SOURCE_LANGUAGE) -> list[str]:
    """How a student installs the student package, ``package`` being its path in the branch."""
    words = WORDS[language]
    return [words["setup"], "", words["setup text"], "", f"    pip install {package}", ""]


def student_readme(assignment: str, files: dict[str, Blob], package: str) -> str:
    """The README of a TP's branch, in its edition's language: what the TP is, how to set up, each
    file's use, what to hand in."""
    words, language = _words(assignment), paths.language_of(assignment)
    notebook = f"{assignment}.ipynb"
    title = notebook_title(files[notebook].data if notebook in files else None, assignment)
    lines = [f"# {title}", "", words["intro"].format(assignment=assignment, notebook=notebook), ""]
    lines += [*install_lines(package, language), words["files"], ""]
    lines += [
        f"- `{name}`{words['colon']}{role(name, blob, assignment)}" for name, blob in sorted(files.items())
    ]
    lines += [f"- `{package}`{words['colon']}{words['package']}"]
    try:
        deliverables = json.loads(files["handin.json"].data)["deliverables"]
    except (KeyError, ValueError):
        deliverables = [notebook]
    lines += ["", words["hand in"].format(files=", ".join(f"`{name}`" for name in deliverables)), ""]
    return "\n".join(lines)


def overview_readme(titles: dict[str, str], package: str) -> str:
    """The README of ``main``, a part in each language the course is published in: one line per TP
    with the branch that holds it, how to choose an edition, and the set-up."""
    parts = []
    tps = sorted({paths.tp_of(name) for name in titles})
    translated = any(paths.language_of(name) != paths.SOURCE_LANGUAGE for name in titles)
    for language in paths.LANGUAGES:
        words = WORDS[language]
        listed = {name: title for name, title in titles.items() if paths.language_of(name) == language}
        if not listed:
            continue
        lines = [words["overview"], "", words["overview text"], ""]
        lines += [f"- {title}{words['colon']}`git checkout {tp}`" for tp, title in sorted(listed.items())]
        if translated:
            lines += ["", words["editions"].format(example=tps[0])]
        first = min(listed)
        clone = f"git clone --branch {first} --single-branch {words['repository']} {first}"
        lines += ["", words["alone"], "", f"    {clone}", ""]
        parts.append("\n".join(lines + install_lines(package, language)))
    return "\n".join(parts)


def tp_branch(assignment: str, package: tuple[str, Blob]) -> Branch:
    """The branch of ``assignment``: its release, its README, the student package (its path and
    bytes), a message naming the release's digest."""
    files = release_files(assignment)
    if README in files:
        raise PublishError(f"release/{assignment}/{README}: the branch's README is written by `tpdl publish`")
    if any(name.startswith(f"{WHEELS}/") for name in files):
        raise PublishError(
            f"release/{assignment}/{WHEELS}/: the branch's {WHEELS}/ is written by `tpdl publish`"
        )
    release_digest = digest(files)
    wheel_path, wheel_blob = package
    files[README] = Blob(student_readme(assignment, files, wheel_path).encode())
    files[wheel_path] = wheel_blob
    message = (
        f"{assignment}: release {release_digest[:12]}\n\nsha256 of release/{assignment}/: {release_digest}\n"
    )
    solution = frozenset(notebooks.solution_lines(assignment))
    return Branch(assignment, files, message, solution, origin=f"release/{assignment}/")


def overview_branch(titles: dict[str, str], package: tuple[str, Blob]) -> Branch:
    """The ``main`` branch: the course overview and the student package, checked against the
    solutions of every TP."""
    wheel_path, wheel_blob = package
    files = {README: Blob(overview_readme(titles, wheel_path).encode()), wheel_path: wheel_blob}
    message = f"{OVERVIEW}: course overview {digest(files)[:12]} ({', '.join(sorted(titles))})\n"
    solution = frozenset().union(*(notebooks.solution_lines(tp) for tp in titles))
    return Branch(OVERVIEW, files, message, solution)


# ------------------------------------------------------------------------------------------------
# The leak finder, on the bytes about to be committed


def readable_text(name: str, data: bytes) -> str | None:
    """The text of a file as a reader sees it: a notebook's raw JSON followed by its cells' sources
    and text outputs; ``None`` for a binary file."""
    try:
        text = data.decode()
    except UnicodeDecodeError:
        return None
    if not name.endswith(".ipynb"):
        return text
    parts = [text]
    for cell in notebook_cells(data):
        parts.append(_joined(cell.get("source", "")))
        for output in cell.get("outputs", []):
            parts.append(_joined(output.get("text", "")))
            parts += [
                _joined(value) for value in output.get("data", {}).values() if isinstance(value, str | list)
            ]
    return "\n".join(parts)


def scan(branch: Branch) -> list[str]:
    """``file: what`` for every piece of solution material in the files of ``branch``: a notebook's
    text source, a hidden marker (in text or binary files) or a line of the TP's solutions. A file
    of the release is named as :func:`tpdl.authoring.notebooks.find_leaks` names it, a README as
    ``branch:README.md``."""
    findings = []
    for name, blob in sorted(branch.files.items()):
        where = branch.where(name)
        if name.endswith(".nb.py"):
            findings.append(f"{where}: the notebook's text source")
        if name.startswith(f"{WHEELS}/"):
            findings += wheel_findings(where, blob.data)
            continue
        text = readable_text(name, blob.data)
        if text is None:
            findings += [
                f"{where}: marker {m!r}" for m in notebooks.HIDDEN_MARKERS if m.encode() in blob.data
            ]
            continue
        findings += [f"{where}: marker {m!r}" for m in notebooks.HIDDEN_MARKERS if m in text]
        stripped = {line.strip().lstrip("#").strip() for line in text.splitlines()}
        findings += [f"{where}: solution line {line!r}" for line in sorted(branch.solution_lines & stripped)]
    return findings


def wheel_findings(where: str, data: bytes) -> list[str]:
    """``file: what`` for every file of a wheel that is not the student runtime, and every hidden
    marker in its files."""
    try:
        members = wheel.members(data)
    except zipfile.BadZipFile:
        return [f"{where}: not a wheel"]
    findings = [f"{where}: {name}, which is not the student runtime" for name in wheel.strays(list(members))]
    for name, content in members.items():
        findings += [
            f"{where}: marker {m!r} in {name}" for m in notebooks.HIDDEN_MARKERS if m.encode() in content
        ]
    return findings


def leaks(branches: list[Branch]) -> list[str]:
    """Every finding of the leak finder on ``branches``, once: the release folders, then every file
    of every branch."""
    findings = []
    for branch in branches:
        if branch.name != OVERVIEW:
            findings += notebooks.find_leaks(branch.name)
        findings += scan(branch)
    return list(dict.fromkeys(findings))


# ------------------------------------------------------------------------------------------------
# The repository


def git_environment() -> dict[str, str]:
    """This process's environment without any ``GIT_*`` variable (a git directory, a work tree, an
    index named by whoever runs ``tpdl``): each call of git says which repository it works on."""
    return {key: value for key, value in os.environ.items() if not key.startswith("GIT_")}


class Repository:
    """A git repository run through ``git`` with its git directory named explicitly (``GIT_DIR``),
    so that no other repository (the course folder's, the current folder's) can be reached."""

    def __init__(self, git_dir: Path):
        self.git_dir = git_dir

    def git(self, *args: str, stdin: bytes = b"", index: Path | None = None) -> str:
        name, email = AUTHOR
        env = git_environment() | {
            "GIT_DIR": str(self.git_dir),
            "GIT_AUTHOR_NAME": name,
            "GIT_AUTHOR_EMAIL": email,
            "GIT_COMMITTER_NAME": name,
            "GIT_COMMITTER_EMAIL": email,
        }
        if index is not None:
            env["GIT_INDEX_FILE"] = str(index)
        done = subprocess.run(["git", *args], input=stdin, env=env, capture_output=True)
        if done.returncode != 0:
            raise PublishError(f"git {args[0]} failed in {self.git_dir}: {done.stderr.decode().strip()}")
        return done.stdout.decode().strip()

    def tips(self) -> dict[str, str]:
        """Each branch and the commit at its tip."""
        listed = self.git("for-each-ref", "--format=%(refname) %(objectname)", "refs/heads/")
        return {
            ref.removeprefix("refs/heads/"): oid
            for ref, oid in (line.split() for line in listed.splitlines())
        }

    def checked_out(self) -> set[str]:
        """The branches checked out in a work tree of the repository (none for a bare one)."""
        listed = self.git("worktree", "list", "--porcelain")
        return {
            line.removeprefix("branch refs/heads/")
            for line in listed.splitlines()
            if line.startswith("branch ")
        }

    def write_tree(self, files: dict[str, Blob]) -> str:
        """Store ``files`` and their tree in the repository; return the tree's id."""
        entries = b""
        for name, blob in sorted(files.items()):
            oid = self.git("hash-object", "-w", "--stdin", stdin=blob.data)
            entries += f"{blob.mode} {oid}\t{name}\0".encode()
        with tempfile.TemporaryDirectory(prefix="tpdl-publish-") as scratch:
            index = Path(scratch) / "index"
            self.git("update-index", "-z", "--add", "--index-info", stdin=entries, index=index)
            return self.git("write-tree", index=index)

    def commit(self, tree: str, parent: str | None, message: str) -> str:
        parents = ["-p", parent] if parent else []
        return self.git("commit-tree", "--no-gpg-sign", tree, *parents, "-F", "-", stdin=message.encode())


def find_repository(dest: Path) -> Repository | None:
    """The repository at ``dest``, or ``None`` where one is to be created (no path, an empty folder).

    Only ``dest`` itself is looked at (``GIT_CEILING_DIRECTORIES``): a folder inside another
    repository's work tree is not taken for that repository.
    """
    if not dest.exists() or (dest.is_dir() and not any(dest.iterdir())):
        return None
    if not dest.is_dir():
        raise PublishError(f"{dest} is a file, not a git repository")
    env = git_environment() | {"GIT_CEILING_DIRECTORIES": str(dest.resolve().parent)}

    def ask(*question: str) -> str | None:
        done = subprocess.run(
            ["git", "rev-parse", *question], cwd=dest, env=env, capture_output=True, text=True
        )
        return done.stdout.strip() if done.returncode == 0 else None

    git_dir = ask("--absolute-git-dir")
    if git_dir is None:
        raise PublishError(f"{dest} is neither a git repository nor an empty folder")
    top = git_dir if ask("--is-bare-repository") == "true" else ask("--show-toplevel")
    if top is None or Path(top).resolve() != dest.resolve():
        raise PublishError(f"{dest} is inside the repository {top or git_dir}, not a repository itself")
    return Repository(Path(git_dir))


def create_repository(dest: Path) -> Repository:
    """A new bare repository at ``dest`` whose ``HEAD`` is ``main``."""
    dest.mkdir(parents=True, exist_ok=True)
    repository = Repository(dest.resolve())
    repository.git("init", "--bare", "--quiet", f"--initial-branch={OVERVIEW}", str(dest.resolve()))
    return repository


# ------------------------------------------------------------------------------------------------
# Publishing


def publish(dest: Path, assignments: list[str] | None = None) -> list[Outcome]:
    """Publish the releases of ``assignments`` (default: every TP) and the overview into ``dest``.

    Everything is read, built and checked before anything is written: the releases, the student
    package, the leak finder on every branch, the repository at ``dest``. Then each branch whose
    tree differs from its tip's gets one commit on that tip, and all branches move in one
    transaction. The overview lists the TPs published now and those ``dest`` already has a branch for.
    """
    known = paths.editions()
    chosen = list(dict.fromkeys(assignments or known))
    unknown = [name for name in chosen if name not in known]
    if unknown:
        raise PublishError(f"no such assignment: {', '.join(unknown)} (the course has {', '.join(known)})")
    repository = find_repository(dest)
    tips = repository.tips() if repository else {}
    package = student_package()
    branches = [tp_branch(assignment, package) for assignment in chosen]
    titles = {
        b.name: notebook_title(b.files.get(f"{b.name}.ipynb", Blob(b"")).data, b.name) for b in branches
    }
    for tp in sorted((set(known) & set(tips)) - set(titles)):  # published before, not now
        notebook = paths.release(tp) / f"{tp}.ipynb"
        titles[tp] = notebook_title(notebook.read_bytes() if notebook.is_file() else None, tp)
    branches.insert(0, overview_branch(titles, package))
    findings = leaks(branches)
    if findings:
        raise PublishError(
            "refused: solution material in what would be published (nothing was written):\n  "
            + "\n  ".join(findings)
        )
    busy = sorted(repository.checked_out() & {branch.name for branch in branches}) if repository else []
    if busy:
        raise PublishError(
            f"{dest} has {', '.join(busy)} checked out: publish into a bare repository "
            "(`git clone --bare`) or check out another branch there"
        )
    repository = repository or create_repository(dest)
    outcomes, moves = [], []
    for branch in branches:
        previous = tips.get(branch.name)
        tree = repository.write_tree(branch.files)
        if previous and repository.git("rev-parse", f"{previous}^{{tree}}") == tree:
            outcomes.append(Outcome(branch.name, previous, previous))
            continue
        commit = repository.commit(tree, previous, branch.message)
        ref = f"refs/heads/{branch.name}"
        moves.append(f"update {ref} {commit} {previous}" if previous else f"create {ref} {commit}")
        outcomes.append(Outcome(branch.name, commit, previous))
    if moves:
        repository.git("update-ref", "--stdin", stdin="".join(f"{move}\n" for move in moves).encode())
    return outcomes
