"""The one way the kit writes a file that must survive a crash (``tpdl.core.files``)."""

import os
import stat

import pytest

from tpdl.core import files


def test_does_it_write_text_and_bytes_in_new_folders(tmp_path):
    target = tmp_path / "a" / "b" / "results.json"
    files.write_atomically(target, "é\n")
    assert target.read_bytes() == "é\n".encode()
    files.write_atomically(target, b"\x00\x01")
    assert target.read_bytes() == b"\x00\x01"


def test_does_it_replace_a_read_only_file_and_set_the_mode(tmp_path):
    target = tmp_path / "feedback.html"
    target.write_text("old")
    target.chmod(0o444)
    files.write_atomically(target, "new", mode=0o600)
    assert target.read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    files.write_atomically(target, "newer")
    assert stat.S_IMODE(target.stat().st_mode) == 0o644


def test_does_a_failed_write_leave_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    target = tmp_path / "results.json"
    target.write_text("old")

    def full_disk(handle):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space"):
        files.write_atomically(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]


def test_does_it_sync_the_file_then_its_folder(tmp_path, monkeypatch):
    synced = []
    real = os.fsync

    def spy(handle):
        synced.append(stat.S_ISDIR(os.fstat(handle).st_mode))
        real(handle)

    monkeypatch.setattr(os, "fsync", spy)
    files.write_atomically(tmp_path / "x", "x")
    assert synced == [False, True]
