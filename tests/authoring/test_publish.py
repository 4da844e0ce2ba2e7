"""``tpdl publish``: the releases as a git repository, one branch per TP, and nothing else.

Every test works on a copy of the course's sources and releases (``TPDL_COURSE_DIR``), made a git
repository of its own to show that publishing never touches it, and publishes into a local bare
repository, as a course's git host would hold it. Every branch holds the student package (built by
``tpdl.authoring.wheel``, whose own tests install it) and its README says how to install it.
"""

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import tpdl
from tpdl import cli
from tpdl.authoring import notebooks, publish, wheel
from tpdl.core import paths

TPS = tuple(
    tp for tp in ("tp1", "tp2", "tp3", "tp4", "tp5") for tp in (tp, f"{tp}-fr")
)  # each in English, French
KINDS = ("new branch", "new commit", "unchanged")  # what `tpdl publish` says it did to a branch
WHEEL = f"wheels/tpdl_course-{tpdl.__version__}-py3-none-any.whl"  # the student package, on every branch
KEPT_OUT = ("source/", "graders/", "solutions/", "sample_class/", "autograded/", "submitted/", "feedback/")


def git(*args: str, cwd: Path | None = None, stdin: str = "") -> str:
    done = subprocess.run(["git", *args], cwd=cwd, input=stdin, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def tips(dest: Path) -> dict[str, str]:
    listed = git("-C", str(dest), "for-each-ref", "--format=%(refname:lstrip=2) %(objectname)", "refs/heads/")
    return dict(line.split() for line in listed.splitlines())


def files_of(dest: Path, branch: str) -> list[str]:
    return git("-C", str(dest), "ls-tree", "-r", "--name-only", branch).splitlines()


def blob(dest: Path, branch: str, name: str) -> bytes:
    done = subprocess.run(
        ["git", "-C", str(dest), "cat-file", "blob", f"{branch}:{name}"], capture_output=True
    )
    return done.stdout


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` and its content: what a refused publication must leave as it was."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def releases(request) -> Path:
    """The course whose releases are copied: built first where any is missing."""
    if not all((paths.release(tp) / f"{tp}.ipynb").is_file() for tp in paths.assignments()):
        request.getfixturevalue("released")
    return paths.course_dir()


def copy_course(original: Path, target: Path) -> Path:
    """The sources and releases of ``original`` in ``target``, a git repository of its own."""
    for folder in ("source", "release"):
        shutil.copytree(original / folder, target / folder)
    git("init", "--quiet", str(target))
    return target


@pytest.fixture
def course_copy(releases, tmp_path, monkeypatch) -> Path:
    """A copy of the course that a test may change; ``paths`` resolves into it."""
    target = copy_course(releases, tmp_path / "course")
    monkeypatch.setenv("TPDL_COURSE_DIR", str(target))
    return target


@pytest.fixture(scope="module")
def published(releases, tmp_path_factory) -> tuple[Path, Path, dict[str, bytes]]:
    """The course copied once and published once into a new bare repository, from inside the
    copy's work tree and with ``GIT_DIR`` naming the copy's repository: (course, dest, the copy's
    ``.git`` before publishing)."""
    target = copy_course(releases, tmp_path_factory.mktemp("published") / "course")
    before = snapshot(target / ".git")
    dest = target.parent / "course.git"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TPDL_COURSE_DIR", str(target))
        patch.setenv("GIT_DIR", str(target / ".git"))
        patch.chdir(target)
        publish.publish(dest)
    return target, dest, before


def test_every_tp_has_a_branch_holding_its_release_and_a_readme(published):
    course_copy, dest, _ = published
    assert git("-C", str(dest), "rev-parse", "--is-bare-repository") == "true"
    assert set(tips(dest)) == {"main", *TPS}
    assert git("-C", str(dest), "symbolic-ref", "HEAD") == "refs/heads/main"
    for tp in TPS:
        release = course_copy / "release" / tp
        expected = {p.relative_to(release).as_posix() for p in release.rglob("*") if p.is_file()}
        assert set(files_of(dest, tp)) == expected | {"README.md", WHEEL}
        for name in expected:
            assert blob(dest, tp, name) == (release / name).read_bytes(), f"{tp}:{name}"
        readme = blob(dest, tp, "README.md").decode()
        title = publish.notebook_title((release / f"{tp}.ipynb").read_bytes(), tp)
        assert readme.startswith(f"# {title}\n") and title.startswith(paths.tp_of(tp).upper())
        deliverables = json.loads((release / "handin.json").read_text())["deliverables"]
        assert all(f"`{name}`" in readme for name in deliverables)
        assert f"\n    pip install {WHEEL}\n" in readme


def test_main_holds_the_overview_one_line_per_tp(published):
    _, dest, _ = published
    assert files_of(dest, "main") == ["README.md", WHEEL]
    overview = blob(dest, "main", "README.md").decode()
    assert f"\n    pip install {WHEEL}\n" in overview
    lines = [line for line in overview.splitlines() if line.startswith("- ")]
    listed = [line.rsplit("`git checkout ", 1)[1] for line in lines]  # the English TPs, then the French
    assert listed == [f"{tp}`" for tp in TPS if "-" not in tp] + [f"{tp}`" for tp in TPS if "-" in tp]
    assert "# Les TP du cours" in overview and "-fr`" in overview


def test_no_branch_holds_anything_of_the_instructor(published):
    """No path, file or solution line of source/, graders/ or solutions/ reaches a branch."""
    course_copy, dest, _ = published
    kit = paths.PACKAGE.parent
    instructor = [p for p in (kit / "graders").rglob("*") if p.is_file()]
    instructor += [p for p in (kit / "solutions").rglob("*") if p.is_file()]
    for tp in TPS:  # the notebooks' sources, and the templates holding solutions
        folder = course_copy / "source" / tp
        instructor += [p for p in folder.iterdir() if p.suffix == ".ipynb" or p.name.endswith(".nb.py")]
        instructor += [p for p in notebooks.templates(folder) if notebooks.BEGIN in p.read_text()]
    forbidden = set(git("hash-object", "--stdin-paths", stdin="\n".join(map(str, instructor))).split())
    assert len(forbidden) > 10
    solutions = {tp: notebooks.solution_lines(tp) for tp in TPS}
    solutions["main"] = set().union(*solutions.values())
    for branch in ("main", *TPS):
        listed = git("-C", str(dest), "ls-tree", "-r", branch).splitlines()
        assert not {line.split()[2] for line in listed} & forbidden, branch
        for name in files_of(dest, branch):
            assert not name.startswith(KEPT_OUT) and not name.endswith((".nb.py", ".db")), name
            if name == WHEEL:
                continue  # the kit's code the notebooks call: read in the test below
            text = blob(dest, branch, name).decode()
            assert not [m for m in notebooks.HIDDEN_MARKERS if m in text], f"{branch}:{name}"
            if name.endswith(".ipynb"):
                text = "\n".join("".join(cell["source"]) for cell in json.loads(text)["cells"])
            stripped = {line.strip().lstrip("#").strip() for line in text.splitlines()}
            assert not solutions[branch] & stripped, f"{branch}:{name}"


def test_every_branch_holds_the_same_student_wheel_and_nothing_else_of_the_kit(published, tmp_path):
    _, dest, _ = published
    ids = {git("-C", str(dest), "rev-parse", f"{branch}:{WHEEL}") for branch in ("main", *TPS)}
    assert len(ids) == 1
    data = blob(dest, "main", WHEEL)
    assert data == wheel.build(tmp_path).read_bytes()
    names = list(wheel.members(data))
    assert not wheel.strays(names) and "tpdl/course/budget.py" in names
    assert not [name for name in names if name.startswith(("tpdl/judge", "tpdl/grading", "tpdl/authoring"))]


def test_a_clone_of_one_branch_installs_the_package_as_its_readme_says(published, tmp_path):
    """The README's command names a wheel the clone of that branch alone holds, which pip's resolver
    accepts (uv's, offline, against the kit's environment, where everything it needs is installed)."""
    _, dest, _ = published
    work = tmp_path / "tp3"
    git("clone", "--quiet", "--branch", "tp3", "--single-branch", str(dest), str(work))
    readme = (work / "README.md").read_text()
    command = next(line.strip() for line in readme.splitlines() if line.strip().startswith("pip install "))
    target = work / command.removeprefix("pip install ")
    assert target.is_file()
    uv = Path(sys.executable).parent / "uv"
    resolve = [str(uv), "pip", "install", "--dry-run", "--offline", "--python", sys.executable, str(target)]
    done = subprocess.run(resolve, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "Would install 1 package" in done.stderr and f"+ tpdl-course @ {target.as_uri()}" in done.stderr


def test_the_course_folders_repository_is_never_touched(published):
    course_copy, _, before = published
    assert snapshot(course_copy / ".git") == before


def test_a_clone_gives_the_overview_then_the_student_notebook(published, tmp_path, monkeypatch):
    course_copy, dest, _ = published
    monkeypatch.setenv("TPDL_COURSE_DIR", str(course_copy))
    work = tmp_path / "work"
    git("clone", "--quiet", str(dest), str(work))
    assert sorted(p.name for p in work.iterdir() if p.name != ".git") == ["README.md", "wheels"]
    git("checkout", "--quiet", "tp1", cwd=work)
    assert (work / "tp1.ipynb").read_bytes() == (course_copy / "release" / "tp1" / "tp1.ipynb").read_bytes()
    assert (work / "app.py").read_text() == (course_copy / "release" / "tp1" / "app.py").read_text()
    author, subject, body = git("log", "-1", "--format=%an%n%s%n%b", cwd=work).split("\n", 2)
    digest = publish.digest(publish.release_files("tp1"))
    assert (author, subject) == ("tpdl publish", f"tp1: release {digest[:12]}") and digest in body


def test_republishing_unchanged_releases_adds_no_commit(published, monkeypatch):
    course_copy, dest, _ = published
    monkeypatch.setenv("TPDL_COURSE_DIR", str(course_copy))
    before = tips(dest)
    outcomes = publish.publish(dest)
    assert [o.branch for o in outcomes] == ["main", *TPS]
    assert not any(o.changed for o in outcomes)
    assert tips(dest) == before


def test_a_changed_release_gets_exactly_one_commit_on_its_tip(course_copy, tmp_path):
    dest = tmp_path / "course.git"
    first = {o.branch: o.commit for o in publish.publish(dest)}
    config = course_copy / "release" / "tp2" / "nbgrader_config.py"
    config.write_text(config.read_text() + "# one more comment\n")
    outcomes = {o.branch: o for o in publish.publish(dest)}
    assert [name for name, o in outcomes.items() if o.changed] == ["tp2"]
    assert outcomes["tp2"].previous == first["tp2"]
    assert git("-C", str(dest), "rev-list", "--parents", "-n", "1", "tp2").split()[1:] == [first["tp2"]]
    assert git("-C", str(dest), "rev-list", "--count", "tp2") == "2"
    assert blob(dest, "tp2", "nbgrader_config.py") == config.read_bytes()
    assert {name: tip for name, tip in tips(dest).items() if name != "tp2"} == {
        name: commit for name, commit in first.items() if name != "tp2"
    }
    assert not any(o.changed for o in publish.publish(dest))


def plant_solution_line(course_copy: Path) -> tuple[str, str]:
    line = sorted(notebooks.solution_lines("tp1"))[0]
    with open(course_copy / "release" / "tp1" / "app.py", "a") as handle:
        handle.write(f"{line}\n")
    return "release/tp1/app.py", "solution line"


def plant_hidden_marker(course_copy: Path) -> tuple[str, str]:
    with open(course_copy / "release" / "tp3" / "nbgrader_config.py", "a") as handle:
        handle.write("# BEGIN HIDDEN TESTS\n")
    return "release/tp3/nbgrader_config.py", "'BEGIN HIDDEN TESTS'"


def plant_marker_in_an_output(course_copy: Path) -> tuple[str, str]:
    """A marker in a cell's output: ``find_leaks`` reads the cells' sources only, the branch's scan
    reads everything a student would see."""
    path = course_copy / "release" / "tp2" / "tp2.ipynb"
    notebook = json.loads(path.read_text())
    cell = next(cell for cell in notebook["cells"] if cell["cell_type"] == "code")
    cell["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["### END SOLUTION\n"]}]
    path.write_text(json.dumps(notebook))
    return "release/tp2/tp2.ipynb", "'END SOLUTION'"


def plant_solution_line_in_the_readme(course_copy: Path) -> tuple[str, str]:
    """A solution line as the notebook's title: the branch's README, which quotes it, is refused too."""
    line = sorted(notebooks.solution_lines("tp1"))[0]
    path = course_copy / "release" / "tp1" / "tp1.ipynb"
    notebook = json.loads(path.read_text())
    notebook["cells"][0]["source"] = [f"# {line}\n"]
    path.write_text(json.dumps(notebook))
    return "tp1:README.md", "solution line"


def plant_hard_link_to_the_source(course_copy: Path) -> tuple[str, str]:
    """A hard link is a regular file of the release: the leak finder sees the solutions in it."""
    notebook = course_copy / "release" / "tp4" / "tp4.ipynb"
    notebook.unlink()
    notebook.hardlink_to(course_copy / "source" / "tp4" / "tp4.ipynb")
    return "release/tp4/tp4.ipynb", "marker 'BEGIN SOLUTION'"


def plant_text_source(course_copy: Path) -> tuple[str, str]:
    shutil.copy(course_copy / "source" / "tp4" / "tp4.nb.py", course_copy / "release" / "tp4" / "tp4.nb.py")
    return "release/tp4/tp4.nb.py", "text source"


@pytest.mark.parametrize(
    "plant",
    [
        plant_solution_line,
        plant_hidden_marker,
        plant_marker_in_an_output,
        plant_solution_line_in_the_readme,
        plant_hard_link_to_the_source,
        plant_text_source,
    ],
)
def test_a_planted_leak_refuses_the_whole_publication(course_copy, tmp_path, plant):
    dest = tmp_path / "course.git"
    publish.publish(dest)
    config = course_copy / "release" / "tp5" / "nbgrader_config.py"
    config.write_text(config.read_text() + "# a change that would be published\n")
    before = snapshot(dest)
    where, what = plant(course_copy)
    with pytest.raises(publish.PublishError) as refused:
        publish.publish(dest)
    assert any(where in line and what in line for line in str(refused.value).splitlines()), refused.value
    assert snapshot(dest) == before
    fresh = tmp_path / "fresh.git"
    with pytest.raises(publish.PublishError):
        publish.publish(fresh)
    assert not fresh.exists()


def grader_in_the_wheel(data: bytes, archive: zipfile.ZipFile) -> tuple[str, str]:
    archive.writestr("tpdl/judge/worker.py", "")
    return f"main:{WHEEL}", "tpdl/judge/worker.py, which is not the student runtime"


def marker_in_the_wheel(data: bytes, archive: zipfile.ZipFile) -> tuple[str, str]:
    name = next(name for name in wheel.members(data) if name.startswith("tpdl/course/"))
    archive.writestr(name.replace(".py", "_extra.py"), "# BEGIN SOLUTION\n")
    return f"tp1:{WHEEL}", "marker 'BEGIN SOLUTION' in tpdl/course/"


@pytest.mark.parametrize("plant", [grader_in_the_wheel, marker_in_the_wheel])
def test_a_wheel_holding_more_than_the_student_runtime_is_refused(course_copy, tmp_path, monkeypatch, plant):
    built = wheel.build(tmp_path / "built")
    with zipfile.ZipFile(built, "a") as archive:
        where, what = plant(built.read_bytes(), archive)
    monkeypatch.setattr(wheel, "build", lambda out: built)
    dest = tmp_path / "course.git"
    with pytest.raises(publish.PublishError) as refused:
        publish.publish(dest, ["tp1"])
    assert any(where in line and what in line for line in str(refused.value).splitlines()), refused.value
    assert not dest.exists()


def link_to_a_grader(course_copy: Path) -> str:
    (course_copy / "release" / "tp1" / "manifest.toml").symlink_to(
        paths.PACKAGE.parent / "graders" / "tp1" / "manifest.toml"
    )
    return "release/tp1/manifest.toml: a link"


def release_linked_to_its_source(course_copy: Path) -> str:
    shutil.rmtree(course_copy / "release" / "tp4")
    (course_copy / "release" / "tp4").symlink_to(course_copy / "source" / "tp4")
    return "release/tp4/: a link"


def a_tracking_store(course_copy: Path) -> str:
    (course_copy / "release" / "tp2" / "mlflow.db").write_bytes(b"SQLite format 3\0")
    return "release/tp2/mlflow.db: a database file"


@pytest.mark.parametrize("plant", [link_to_a_grader, release_linked_to_its_source, a_tracking_store])
def test_only_the_release_folders_regular_files_are_read(course_copy, tmp_path, plant):
    expected = plant(course_copy)
    dest = tmp_path / "course.git"
    with pytest.raises(publish.PublishError, match=expected):
        publish.publish(dest)
    assert not dest.exists()


def test_a_release_folder_resolving_into_the_graders_is_refused(course_copy, tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "release", lambda assignment="": paths.graders(assignment))
    (course_copy / "graders" / "tp1").mkdir(parents=True)
    (course_copy / "graders" / "tp1" / "manifest.toml").write_text("[points]\n")
    with pytest.raises(publish.PublishError, match="a folder never published"):
        publish.publish(tmp_path / "course.git", ["tp1"])


def test_dest_is_a_repository_itself_with_no_published_branch_checked_out(course_copy, tmp_path):
    inside = course_copy / "somewhere"
    inside.mkdir()
    (inside / "notes.txt").write_text("not a repository\n")
    with pytest.raises(publish.PublishError, match="neither a git repository nor an empty folder"):
        publish.publish(inside)
    busy = tmp_path / "busy"
    git("init", "--quiet", "--initial-branch=main", str(busy))
    with pytest.raises(publish.PublishError, match="has main checked out"):
        publish.publish(busy)
    assert tips(busy) == {}
    work = tmp_path / "work"
    git("init", "--quiet", "--initial-branch=scratch", str(work))
    publish.publish(work, ["tp1"])
    assert set(tips(work)) == {"main", "tp1"}
    assert git("symbolic-ref", "HEAD", cwd=work) == "refs/heads/scratch"


def test_cli_publishes_prints_each_branch_and_refuses_a_leak(course_copy, tmp_path, capsys):
    dest = tmp_path / "course.git"
    assert cli.main(["publish", str(dest), "-a", "tp1"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in printed] == ["main", "tp1"]
    assert all(": new branch, commit " in line for line in printed)
    assert "tp2" not in blob(dest, "main", "README.md").decode()
    assert cli.main(["publish", str(dest), "--assignment", "tp1"]) == 0
    assert all(": unchanged (" in line for line in capsys.readouterr().out.splitlines())
    assert cli.main(["publish", str(dest)]) == 0  # every TP: the overview now lists them all
    kinds = [next(k for k in KINDS if k in line) for line in capsys.readouterr().out.splitlines()]
    assert kinds == ["new commit", "unchanged"] + ["new branch"] * (len(TPS) - 1)
    assert all(f"`git checkout {tp}`" in blob(dest, "main", "README.md").decode() for tp in TPS)
    where, _ = plant_solution_line(course_copy)
    before = tips(dest)
    assert cli.main(["publish", str(dest)]) == 1
    error = capsys.readouterr().err
    assert error.startswith("tpdl publish: refused") and where in error
    assert tips(dest) == before
    assert cli.main(["publish", str(dest), "-a", "tp9"]) == 1
    assert "no such assignment: tp9" in capsys.readouterr().err
