"""Does each command say plainly what to do where it cannot work yet, and show an author what went
wrong (``tpdl try``, ``tpdl samples``, ``tpdl messages``, ``make lab``)?

The course is ``tests/new_tp``'s small TP in a scratch folder outside the kit's checkout, as a
course of one's own would be.
"""

import os
import shlex
import shutil
import signal
import subprocess
import sys
import time

import pytest

from tpdl import cli
from tpdl.core import i18n, paths

NEW = paths.course_dir() / "tests" / "new_tp"
TP = "tp9"
ENTRY = f"tests/catalogue/{TP}/double--fail--squares.py"
# graded on every check of its cell, the broken one included (a wrong answer: on those it loses)
VARIANT = f"tests/catalogue/{TP}/double--pass--sum-with-itself.py"


@pytest.fixture
def small_course(tmp_path, monkeypatch):
    """A course of one small TP, outside the kit's checkout, not released yet."""
    root = tmp_path / "course"
    shutil.copytree(NEW / "source", root / "source")
    shutil.copytree(NEW / "graders", root / "graders")
    shutil.copytree(NEW / "catalogue", root / "tests" / "catalogue")
    shutil.copytree(paths.graders() / "locale", root / "graders" / "locale")
    for library in paths.graders().glob("*.py"):
        (root / "graders" / library.name).symlink_to(library)
    shutil.copyfile(paths.course_dir() / "nbgrader_config.py", root / "nbgrader_config.py")
    monkeypatch.setenv("TPDL_COURSE_DIR", str(root))
    monkeypatch.setenv("PATH", os.environ["PATH"])  # cli.main puts the environment's bin/ first
    return root


def one_line_error(capsys) -> str:
    error = capsys.readouterr().err
    assert len(error.strip().splitlines()) == 1 and "Traceback" not in error, error
    return error


def test_tpdl_try_before_the_sample_class_says_to_write_it(small_course, capsys):
    assert cli.main(["try", str(small_course / ENTRY)]) == 2
    error = one_line_error(capsys)
    assert "sample class has no reference submission of tp9" in error and "`tpdl samples tp9`" in error


def test_tpdl_try_outside_the_catalogue_says_where_entries_live(small_course, tmp_path, capsys):
    stray = tmp_path / "stray.py"
    stray.write_text('"""A variant in no catalogue folder."""\n')
    assert cli.main(["try", str(stray)]) == 2
    assert "a catalogue entry lives in tests/catalogue/<assignment>/" in one_line_error(capsys)


def test_tpdl_samples_before_the_release_says_to_release(small_course, capsys):
    assert cli.main(["samples", TP]) == 2
    assert "tp9 is not released yet" in one_line_error(capsys)
    assert cli.main(["samples", "tp8"]) == 2
    assert "no assignment 'tp8'" in one_line_error(capsys)


def test_tpdl_messages_in_a_course_outside_the_kit_keeps_the_kits_catalogues(small_course, capsys):
    """The kit's own catalogues are checked, never rewritten from another course; the course's are."""
    kit = [i18n.catalogue_path(paths.PACKAGE, lang) for lang in i18n.LANGUAGES]
    before = [path.read_bytes() for path in kit]
    assert cli.main(["messages"]) == 1  # tp9's checks have no French names in the scratch course
    printed = capsys.readouterr().out
    assert "tpdl: " in printed and "checked, not updated here" in printed
    assert f"graders/{TP}: " in printed and f"graders/{TP} [fr]: not translated" in printed
    assert [path.read_bytes() for path in kit] == before
    assert i18n.catalogue_path(small_course / "graders" / TP, "en").is_file(), "the course's own are written"


def test_tpdl_messages_outside_any_course_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TPDL_COURSE_DIR", str(tmp_path))
    assert cli.main(["messages", "--check"]) == 2
    assert f"{tmp_path} is not a course folder" in one_line_error(capsys)


def test_make_lab_starts_jupyterlab_as_the_user_it_runs_as(tmp_path):
    """As root, JupyterLab refuses to start unless told: the Makefile tells it (and only as root)."""
    venv = paths.course_dir() / ".venv"
    dry = subprocess.run(
        ["make", "-n", "-s", "-C", str(paths.course_dir()), f"VENV={venv}", "lab"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    command = next(line for line in dry.stdout.splitlines() if "jupyter lab" in line)
    assert ("--allow-root" in command) == (os.geteuid() == 0), command
    words = shlex.split(command)
    settings = {}  # the NAME=value words before the command (PYTHONSAFEPATH)
    while "=" in words[0]:
        name, value = words.pop(0).split("=", 1)
        settings[name] = value
    assert settings.get("PYTHONSAFEPATH") == "1", command  # no module beside a student's notebook is imported
    args = [*words, "--no-browser", "--ServerApp.port=0", "--ServerApp.ip=127.0.0.1"]
    env = {**os.environ, **settings, "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime")}
    server = subprocess.Popen(
        args,
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        deadline, lines = time.monotonic() + 120, []
        while time.monotonic() < deadline and server.poll() is None:
            lines.append(server.stderr.readline())
            if "is running at" in lines[-1]:
                break
        assert "is running at" in lines[-1], "".join(lines[-20:])
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:  # a loaded machine: nothing is left running all the same
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
            raise


@pytest.mark.slow
@pytest.mark.usefixtures("in_shared_pool")
def test_tpdl_try_prints_the_graders_traceback_of_an_internal_error(small_course):
    env = {**os.environ, "TPDL_COURSE_DIR": str(small_course), "TF_CPP_MIN_LOG_LEVEL": "2"}
    tpdl = [sys.executable, "-m", "tpdl.cli"]
    for step in (["release", TP], ["samples", TP]):
        done = subprocess.run([*tpdl, *step], env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
    (small_course / "graders" / TP / "test_broken.py").write_text(
        "import pytest\n\n\n@pytest.mark.points(1)\n@pytest.mark.cell('double_tests')\n"
        "def test_reads_a_missing_table(student):\n    assert {}['thresholds'], 'never reached'\n"
    )
    done = subprocess.run(
        [*tpdl, "try", str(small_course / VARIANT)], env=env, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 1, "an internal error of the graders fails the try"
    assert "LOST reads_a_missing_table: The grader could not complete this check" in done.stdout
    assert "internal error of the graders in test_broken.py::test_reads_a_missing_table" in done.stderr
    assert "Traceback (most recent call last)" in done.stderr and "KeyError: 'thresholds'" in done.stderr
