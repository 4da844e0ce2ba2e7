"""`tpdl hub up`'s checks before it makes anything: the roster, the accounts, the machine."""

import os
import pwd
import shutil

import pytest

from tpdl import cli
from tpdl.classroom import hub
from tpdl.classroom.outcomes import UsageError


def roster(tmp_path, text: str, encoding: str = "utf-8"):
    path = tmp_path / "roster.csv"
    path.write_bytes(text.encode(encoding))
    return path


def test_a_roster_gives_the_instructor_and_the_students_with_their_names(tmp_path):
    text = "id,role,first_name,last_name\nprof,instructor,Camille,Laurent\nzoe_1,student,Zoé,Ña\n"
    instructor, students = hub.read_roster(roster(tmp_path, text))
    assert instructor == hub.Person("prof", "instructor", "Camille", "Laurent")
    assert students == [hub.Person("zoe_1", "student", "Zoé", "Ña")]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("id,role\nprof,instructor\nalice,teacher\n", "role 'teacher' is not one of student, instructor"),
        ("id,role\nprof,instructor\nann,instructor\nalice,student\n", "names 2 instructors"),
        ("id,role\nalice,student\n", "names 0 instructors"),
        ("id,role\nprof,instructor\n", "names no student"),
        ("id,role\nprof,instructor\nAlice,student\n", "'Alice' is not an account name"),
        ("id,role\nprof,instructor\nal ice,student\n", "'al ice' is not an account name"),
        ("id,role\nprof,instructor\n,student\n", "an id is empty"),
        ("id,role\nprof,instructor\nalice,student\nalice,student\n", "alice is listed twice"),
        ("id,role\nprof,instructor\n" + "a" * 33 + ",student\n", "32 characters at most"),
    ],
)
def test_a_wrong_roster_is_refused_with_its_line(tmp_path, text, says):
    with pytest.raises(UsageError, match=says.replace("(", r"\(")):
        hub.read_roster(roster(tmp_path, text))


def test_a_roster_that_is_not_utf8_is_refused(tmp_path):
    with pytest.raises(UsageError, match="not a UTF-8 CSV file"):
        hub.read_roster(roster(tmp_path, "id,role\nprof,instructor\nzoé,student\n", "utf-16"))


@pytest.mark.skipif(
    os.geteuid() != 0 or not all(shutil.which(tool) for tool in ("useradd", "chpasswd", "npm")),
    reason="tpdl hub up refuses first to run as anyone but root, or without useradd, chpasswd and npm",
)
def test_an_existing_account_is_never_taken_over(tmp_path, capsys):
    """A roster naming an account of the machine's (here ``daemon``) is refused before anything is made."""
    pwd.getpwnam("daemon")
    path = roster(tmp_path, "id,role\nprof-x9,instructor\ndaemon,student\n")
    root = tmp_path / "hub"
    assert cli.main(["hub", "up", "--roster", str(path), "--root", str(root)]) == 2
    assert "an account daemon exists already" in capsys.readouterr().err
    assert not root.exists()
    with pytest.raises(KeyError):
        pwd.getpwnam("prof-x9")


def test_hub_down_says_when_there_is_no_hub(tmp_path, capsys):
    if os.geteuid() != 0:
        assert cli.main(["hub", "down", "--root", str(tmp_path)]) == 2
        assert "run it as root" in capsys.readouterr().err
    else:
        assert cli.main(["hub", "down", "--root", str(tmp_path)]) == 2
        assert "holds no hub" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.skipif(
    os.geteuid() != 0 or not all(shutil.which(tool) for tool in ("useradd", "chpasswd", "npm")),
    reason="makes accounts: root, with useradd, chpasswd and npm",
)
def test_a_hub_that_cannot_be_made_leaves_nothing(tmp_path, monkeypatch, capsys, released):
    """The environment fails once the accounts exist: they and the hub's folder are removed."""
    tag = os.urandom(2).hex()
    path = roster(tmp_path, f"id,role\nprof{tag},instructor\nalice{tag},student\n")
    root = tmp_path / "hub"

    def broken(env, wheels):
        assert pwd.getpwnam(f"alice{tag}")  # the accounts were made
        raise hub.InfrastructureError("no environment today")

    monkeypatch.setattr(hub, "make_environment", broken)
    assert cli.main(["hub", "up", "--roster", str(path), "--root", str(root)]) == 1
    said = capsys.readouterr()
    assert "no environment today" in said.err and "removing what was made" in said.out
    assert not root.exists()
    for account in (f"prof{tag}", f"alice{tag}"):
        with pytest.raises(KeyError):
            pwd.getpwnam(account)
