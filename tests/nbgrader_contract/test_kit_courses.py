"""Are nbgrader's test courses kit courses (``conftest.py``), their location their own?"""

from pathlib import Path

import pytest
from nbgrader.apps.nbgraderapp import NbGraderApp
from nbgrader.tests.apps.base import BaseTestApp
from traitlets.config.loader import PyFileConfigLoader

from tpdl.core import paths

from . import test_nbgrader_apps
from .conftest import DELIBERATE, KIT_CONFIG, LOCATION, write_kit_settings


def loaded_config(command: list[str]):
    """The configuration nbgrader's ``command`` runs with, read as nbgrader's tests run it."""
    app = NbGraderApp.instance()
    try:
        app.initialize(command)
        return app.subapp.config, app.subapp.coursedir
    finally:
        app.reset()


class TestKitCourses(BaseTestApp):
    def test_the_kits_behaviour_applies(self):
        """Does every setting of the kit's nbgrader_config.py, location aside, reach nbgrader's apps?"""
        config, _ = loaded_config(["collect", "ps1"])
        kit = PyFileConfigLoader(KIT_CONFIG.name, str(KIT_CONFIG.parent)).load_config()
        behaviour = {
            (cls, name): value
            for cls, section in kit.items()
            for name, value in section.items()
            if name not in LOCATION.get(cls, ())
        }
        assert ("ExchangeFactory", "collect") in behaviour and ("Autograde", "exporter_class") in behaviour
        assert {key: config[key[0]][key[1]] for key in behaviour} == behaviour

    def test_the_location_is_the_tests_own(self, course_dir):
        """Are the course's folder, gradebook, id and exchange the test's, the kit's paths in the course?"""
        config, coursedir = loaded_config(["collect", "ps1"])
        assert coursedir.root == course_dir
        assert coursedir.db_url == f"sqlite:///{Path(course_dir, 'gradebook.db')}"  # nbgrader's default
        assert coursedir.course_id == ""
        assert "root" not in config.Exchange
        assert paths.course_dir() == Path(course_dir).resolve()

    def test_the_tests_own_settings_win(self, course_dir):
        """Does a setting the test's course makes override the kit's?"""
        with open("nbgrader_config.py", "a") as handle:
            handle.write("c.Execute.timeout = 7\nc.AssignLatePenalties.plugin_class = 'late_plugin.Blarg'\n")
        config, _ = loaded_config(["autograde", "ps1", "--Exchange.root=/nowhere"])
        assert config.Execute.timeout == 7
        assert config.AssignLatePenalties.plugin_class == "late_plugin.Blarg"
        assert config.Exchange.root == "/nowhere"


@pytest.mark.parametrize("stray", [False, True])
def test_a_location_the_kit_derives_from_its_folder_is_caught(tmp_path, stray):
    """Is a setting made from the kit's folder, and not listed in LOCATION, refused?"""
    kit = tmp_path / "nbgrader_config.py"
    lines = [
        "import os",
        "c = get_config()",
        "COURSE = os.path.dirname(os.path.abspath(__file__))",
        "c.CourseDirectory.root = COURSE",
        "c.Execute.timeout = 600",
    ]
    if stray:
        lines.append("c.Exchange.cache = os.path.join(COURSE, 'cache')")
    kit.write_text("\n".join(lines) + "\n", encoding="utf-8")
    settings = tmp_path / "settings"
    settings.mkdir()
    if stray:
        with pytest.raises(pytest.UsageError, match=r"Exchange\.cache"):
            write_kit_settings(kit, settings)
    else:
        write_kit_settings(kit, settings)
        loaded = PyFileConfigLoader("nbgrader_config.py", str(settings)).load_config()
        assert dict(loaded.CourseDirectory) == {} and loaded.Execute.timeout == 600


def test_every_deliberate_difference_names_a_test_of_nbgraders():
    """Does each entry of DELIBERATE name a test that is run here?"""
    for test_id in DELIBERATE:
        cls, name = test_id.split("::")
        assert callable(getattr(getattr(test_nbgrader_apps, cls), name.split("[")[0], None)), test_id
