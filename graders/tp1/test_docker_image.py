"""Hidden checks of the Docker image itself (grade cell ``docker_image_tests``, 2 points).

Where a Docker engine runs on the grading machine, the submission's folder is built with its
Dockerfile in the kit's box (no network but the course's package index, base images from the
engine's store only, limits; see ``tpdl.docker_engine``) and the container is queried: ``/health``,
then ``/predict`` for digits drawn at grading time (``tpdl.fresh``), which it must classify as a
model of the course's accuracy does, and its user. Where the machine cannot run them (no engine,
the kit's base image or the package index missing, the engine failing), these checks say so and
are not counted: neither earned nor lost. Only a failure of the student's Dockerfile or image
loses them.
"""

import os

import pytest

from tpdl import data, docker_engine, fresh, i18n, manifest

_ = i18n.domain(__file__)

pytestmark = pytest.mark.cell("docker_image_tests")

FRESH_ACCURACY = manifest.beside(__file__).thresholds["fresh_accuracy"]


@pytest.fixture(scope="module")
def probe(student):
    if os.environ.get("TPDL_DOCKER", "auto") == "off":
        pytest.skip(_("not run: Docker checks are turned off on the grading machine (not counted)"))
    digits = fresh.mnist_digits(data.load_at_hand("mnist"), count=docker_engine.DIGITS)
    try:
        return docker_engine.build_and_probe(
            student.path, docker_engine.image_name(student.student), digits=digits, events=student.events
        )
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
    assert probe.right >= docker_engine.LEAST_RIGHT, _(
        "the container classified {right} of {asked} digits drawn at grading time correctly; a model that "
        "reaches the course's {accuracy:.0%} gets at least {least} of them right in 99 % of draws: does the "
        "image serve your model, with the pixels scaled as in training?",
        right=probe.right,
        asked=probe.asked,
        accuracy=FRESH_ACCURACY,
        least=docker_engine.LEAST_RIGHT,
    )
    assert probe.non_root, _("the container runs as root")
