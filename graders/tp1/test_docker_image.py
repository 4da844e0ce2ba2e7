"""Hidden checks of the Docker image itself (grade cell ``docker_image_tests``, 2 points).

Where a Docker engine runs on the grading machine, the submission's folder is built with its
Dockerfile in the kit's box (no network but the course's package index, base images from the
engine's store only, limits; see ``tpdl.docker_engine``) and the container is queried (``/health``,
one prediction, its user). Where the machine cannot run them (no engine, a base image or the
package index missing, the engine failing), these checks say so and are not counted: neither
earned nor lost. Only a failure of the student's Dockerfile or image loses them.
"""

import os

import pytest

from tpdl import docker_engine, i18n

_ = i18n.domain(__file__)

pytestmark = pytest.mark.cell("docker_image_tests")


@pytest.fixture(scope="module")
def probe(student):
    if os.environ.get("TPDL_DOCKER", "auto") == "off":
        pytest.skip(_("not run: Docker checks are turned off on the grading machine (not counted)"))
    try:
        return docker_engine.build_and_probe(student.path, docker_engine.image_name(student.student))
    except docker_engine.MachineFailure as failure:
        pytest.skip(
            _("not run, and not counted (a problem of the grading machine): {reason}", reason=failure)
        )


@pytest.mark.points(1)
def test_docker_image_builds(probe):
    assert probe.built, probe.message


@pytest.mark.points(1)
def test_docker_image_serves_as_a_non_root_user(probe):
    assert probe.built, _("the image did not build")
    assert probe.healthy and probe.predict_ok, probe.message
    assert probe.non_root, _("the container runs as root")
