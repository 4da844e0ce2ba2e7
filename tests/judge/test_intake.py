"""Does the intake stage exactly what is graded, refuse what it must, and never follow a link?"""

import dataclasses
import os
import stat
import threading

import pytest

from tpdl.judge import intake, sandbox

LIMITS = intake.IntakeLimits()


def staged(folder, tmp_path, limits=LIMITS) -> intake.Staged:
    tmp_path.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        return intake.stage(fd, tmp_path / "staged", limits)
    finally:
        os.close(fd)


def kept(result: intake.Staged) -> set[str]:
    return {str(p.relative_to(result.folder)) for p in result.folder.rglob("*") if p.is_file()}


@pytest.fixture
def submission(tmp_path):
    folder = tmp_path / "tp1"
    (folder / "mlruns" / "1").mkdir(parents=True)
    (folder / "tp1.ipynb").write_text("{}")
    (folder / "app.py").write_text("x = 1\n")
    (folder / ".dockerignore").write_text("*.ipynb\n")
    (folder / "mlruns" / "1" / "model.keras").write_bytes(b"weights")
    return folder


def test_regular_files_and_folders_are_staged_as_they_are(submission, tmp_path):
    result = staged(submission, tmp_path)
    assert not result.refused and not result.dropped
    assert kept(result) == {"tp1.ipynb", "app.py", ".dockerignore", "mlruns/1/model.keras"}
    assert (result.folder / "mlruns" / "1" / "model.keras").read_bytes() == b"weights"
    assert result.files == 4 and result.bytes == len("{}x = 1\n*.ipynb\nweights")


def test_links_and_special_files_are_dropped_without_being_followed(submission, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("answers")
    (submission / "answers.py").symlink_to(secret)
    (submission / "outside").symlink_to(tmp_path, target_is_directory=True)
    os.mkfifo(submission / "pipe")  # opening it would block for ever
    done = threading.Event()
    result = []
    worker = threading.Thread(
        target=lambda: (result.append(staged(submission, tmp_path)), done.set()), daemon=True
    )
    worker.start()
    assert done.wait(30), "the intake blocked on a named pipe"
    dropped = dict(result[0].dropped)
    assert set(dropped) == {"answers.py", "outside", "pipe"}
    assert "link" in dropped["answers.py"] and "not a regular file" in dropped["pipe"]
    assert "answers" not in "".join(p.read_text() for p in result[0].folder.rglob("*") if p.is_file())


@pytest.mark.parametrize(
    ("name", "is_dir"),
    [
        ("__pycache__", True),
        ("app.cpython-311.pyc", False),
        ("old.pyo", False),
        ("hook.pth", False),
        ("sitecustomize.py", False),
        ("usercustomize.py", False),
        ("fast.cpython-311-x86_64-linux-gnu.so", False),
        (".ipynb_checkpoints", True),
    ],
)
def test_what_python_would_run_instead_of_the_sources_is_dropped(submission, tmp_path, name, is_dir):
    path = submission / name
    if is_dir:
        path.mkdir()
        (path / "app.cpython-311.pyc").write_bytes(b"\x00")
    else:
        path.write_bytes(b"\x00")
    result = staged(submission, tmp_path)
    assert [p.rstrip("/") for p, _ in result.dropped] == [name]
    assert not (result.folder / name).exists()


def test_a_package_that_would_shadow_a_module_is_dropped(submission, tmp_path):
    (submission / "app").mkdir()
    (submission / "app" / "__init__.py").write_text("working = True\n")
    (submission / "utils").mkdir()  # a folder beside no module of its name is kept
    (submission / "utils" / "helpers.py").write_text("\n")
    result = staged(submission, tmp_path)
    assert [path for path, _ in result.dropped] == ["app/"]
    assert "utils/helpers.py" in kept(result)


@pytest.mark.parametrize(
    ("limits", "build", "why"),
    [
        (
            dataclasses.replace(LIMITS, depth=3),
            lambda f: (f / "a" / "b" / "c" / "d").mkdir(parents=True),
            "nested more than 3",
        ),
        (
            dataclasses.replace(LIMITS, files=10),
            lambda f: [(f / f"{i}.txt").touch() for i in range(20)],
            "more than 10 files",
        ),
        (
            dataclasses.replace(LIMITS, total_bytes=100),
            lambda f: (f / "big.bin").write_bytes(b"x" * 101),
            "more than 100 bytes",
        ),
    ],
)
def test_limits_refuse_a_submission_as_a_whole(submission, tmp_path, limits, build, why):
    build(submission)
    result = staged(submission, tmp_path, limits)
    assert result.refused and why in result.refused
    assert not any(result.folder.iterdir()), "nothing of a refused submission is staged"
    assert result.note().startswith("Your submission was not graded:")


def test_a_file_over_the_size_limit_is_left_out(submission, tmp_path):
    (submission / "huge.bin").write_bytes(b"x" * 1000)
    result = staged(submission, tmp_path, dataclasses.replace(LIMITS, file_bytes=999))
    assert not result.refused and [p for p, _ in result.dropped] == ["huge.bin"]
    assert "huge.bin (1,000 bytes" in result.note()


def test_the_digest_covers_names_sizes_and_contents_and_nothing_else(submission, tmp_path):
    first = staged(submission, tmp_path / "a").digest
    assert staged(submission, tmp_path / "b").digest == first
    (submission / "app.py").write_text("x = 2\n")
    assert staged(submission, tmp_path / "c").digest != first
    (submission / "app.py").write_text("x = 1\n")
    (submission / "__pycache__").mkdir()  # left out: it cannot change the grade, nor the digest
    assert staged(submission, tmp_path / "d").digest == first
    (submission / "app.py").rename(submission / "main.py")
    assert staged(submission, tmp_path / "e").digest != first


@pytest.mark.parametrize("name", ["alice", "s123456", "jean.dupont", "a_b-c", "X" * 64])
def test_student_ids_that_follow_the_rule(name):
    assert intake.check_student_id(name) is None


@pytest.mark.parametrize(
    "name",
    [
        "",
        ".hidden",
        "-rf",
        "=SUM(A1)",
        "a" * 65,
        "two words",
        "a/b",
        "..",
        "a..b",
        "\x1b[31mred",
        "é",
        "tab\t",
        "[bold]x",
    ],
)
def test_student_ids_that_break_the_rule_are_refused_and_shown_escaped(name):
    why = intake.check_student_id(name)
    assert why and "is not a student id" in why
    assert "\x1b" not in why and "\t" not in why


def test_discovery_refuses_linked_folders_and_odd_names(tmp_path):
    submissions = tmp_path / "submitted"
    (submissions / "alice" / "tp1").mkdir(parents=True)
    (submissions / "bob").mkdir()
    (submissions / "bob" / "tp1").symlink_to(submissions / "alice" / "tp1")
    (submissions / "carol").symlink_to(submissions / "alice")
    (submissions / "=cmd|x").mkdir()
    (submissions / "=cmd|x" / "tp1").mkdir()
    (submissions / "dave").mkdir()  # submitted nothing for tp1
    found = intake.discover("tp1", submissions)
    assert set(found.folders) == {"alice"}
    assert set(found.refused) == {"bob", "carol", "=cmd|x"}
    assert "link" in found.refused["bob"] and "link" in found.refused["carol"]
    named = intake.discover("tp1", submissions, students=["alice", "dave", "../etc"])
    assert named.folders == {"alice": submissions / "alice" / "tp1", "dave": None}
    assert "../etc" in named.refused


@pytest.mark.skipif(os.geteuid() != 0, reason="workers run as users of their own only when the judge is root")
def test_a_workers_tree_shares_the_staged_files_and_cannot_change_them(submission, tmp_path):
    result = staged(submission, tmp_path)
    tree = tmp_path / "tree"
    sandbox.give_tree(result.folder, tree, uid=62999)
    original, linked = result.folder / "app.py", tree / "app.py"
    assert os.stat(original).st_ino == os.stat(linked).st_ino, "the file was copied, not linked"
    info = os.stat(linked)
    assert info.st_uid == 0 and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    assert os.stat(tree).st_uid == 62999 and os.stat(tree / "mlruns").st_uid == 62999
