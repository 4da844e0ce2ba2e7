"""The student's side of nbgrader's exchange where every student has an account of their own.

nbgrader's ``submit`` leaves each submission open to every account (its folder mode 0777, its
files 0644): hidden only by a random name in an inbound folder that students cannot list. On a
shared machine (the course's JupyterHub, ``tpdl hub up``), :class:`SealedSubmit` closes it: the
folder and everything in it are readable by their student and by the inbound folder's group
alone (nbgrader's release makes the inbound folder setgid, so a submission takes the group of the
instructor who released it), and writable by their student only. Another student who learns the
name can neither read the work nor change it; the instructor's ``nbgrader collect`` reads it
through the group. The student's own later changes stay possible, and the kit's collect dates a
submission by its last change (``tpdl.classroom.nbgrader_ext.SafeCollect``).

A student's server names it in its ``nbgrader_config.py``::

    c.ExchangeFactory.submit = "tpdl.course.exchange.SealedSubmit"
"""

import os
import shutil
import stat

from nbgrader.exchange.default.submit import ExchangeSubmit

FOLDER_MODE = 0o750  # the student: everything; the instructors' group: read and enter; others: nothing
FILE_MODE = 0o640
LATE_FILES = ("timestamp.txt", "submission_secret.txt")  # written by nbgrader after its copy


def seal(folder: str) -> None:
    """Give ``folder``, its subfolders and regular files the modes above (links are left as they are:
    a student can change the modes of their own files only)."""
    for where, folders, files in os.walk(folder):
        for name in files:
            path = os.path.join(where, name)
            if stat.S_ISREG(os.lstat(path).st_mode):
                os.chmod(path, FILE_MODE)
        for name in folders:
            path = os.path.join(where, name)
            if stat.S_ISDIR(os.lstat(path).st_mode):
                os.chmod(path, FOLDER_MODE)
    os.chmod(folder, FOLDER_MODE)


class SealedSubmit(ExchangeSubmit):
    """``nbgrader submit`` (and the Assignment List's *Submit* button) whose submission only its
    student and the instructors' group can read."""

    def do_copy(self, src, dest, log=None):
        """nbgrader's copy, made inside a folder created first: created in the setgid inbound folder,
        the folder takes the instructors' group and hands it to everything created in it while it
        keeps its setgid bit, which nbgrader's copy (``shutil.copytree``'s ``copystat``) and modes
        take away. nbgrader writes ``timestamp.txt`` and ``submission_secret.txt`` after the copy:
        they are made here, empty, for nbgrader to fill. A student cannot give a file a group they
        are not in afterwards."""
        if os.path.dirname(os.path.abspath(dest)) != os.path.abspath(self.inbound_path):
            return super().do_copy(src, dest, log)  # the student's own cache
        os.mkdir(dest)
        try:
            staging = os.path.join(dest, ".copy")
            super().do_copy(src, staging, log)
            for name in os.listdir(staging):
                os.rename(os.path.join(staging, name), os.path.join(dest, name))
            os.rmdir(staging)
            for name in LATE_FILES:
                with open(os.path.join(dest, name), "a"):
                    pass
        except BaseException:
            shutil.rmtree(dest, ignore_errors=True)  # no half-made submission left for collect to take
            raise
        return None

    def copy_files(self):
        super().copy_files()
        submission = os.path.join(self.inbound_path, self.assignment_filename)
        if os.stat(submission).st_gid == os.getegid():
            self.log.warning(
                "The inbound folder %s gives submissions no group of the instructors' (it is not setgid): "
                "this submission keeps nbgrader's modes",
                self.inbound_path,
            )
            return
        seal(submission)
