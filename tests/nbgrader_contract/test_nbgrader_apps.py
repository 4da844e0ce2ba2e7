"""nbgrader's tests of the commands that the kit configures, one class per file of
``nbgrader/tests/apps/`` (``test_nbgrader_<command>.py``), run on kit courses (``conftest.py``)."""

from nbgrader.tests.apps.test_nbgrader_autograde import TestNbGraderAutograde
from nbgrader.tests.apps.test_nbgrader_collect import TestNbGraderCollect
from nbgrader.tests.apps.test_nbgrader_export import TestNbGraderExport
from nbgrader.tests.apps.test_nbgrader_generate_feedback import TestNbGraderFeedback
from nbgrader.tests.apps.test_nbgrader_releasefeedback import TestNbGraderReleaseFeedback
from nbgrader.tests.apps.test_nbgrader_submit import TestNbGraderSubmit
from nbgrader.tests.apps.test_nbgrader_validate import TestNbGraderValidate

__all__ = [
    "TestNbGraderAutograde",
    "TestNbGraderCollect",
    "TestNbGraderExport",
    "TestNbGraderFeedback",
    "TestNbGraderReleaseFeedback",
    "TestNbGraderSubmit",
    "TestNbGraderValidate",
]
