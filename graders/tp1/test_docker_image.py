"""Hidden checks of the Docker image itself (grade cell ``docker_image_tests``, 2 points).

Where a Docker engine runs on the grading machine, the submission's folder is built with its Dockerfile in the
kit's box (no network but the course's package index, base images from the engine's store only, limits; see
``tpdl.grading.docker_engine``) and the container is queried: ``/health``, then ``/predict`` for digits drawn
at grading time (``tpdl.grading.fresh``), to which it must answer what the handed-in model (loaded by the
judge, ``conftest.handed_in``) predicts, and its user. Where the machine cannot run them (no engine, the kit's
base image or the package index missing, the engine failing), these checks say so and are not counted: neither
earned nor lost. Only a failure of the student's Dockerfile or image loses them.
"""

import dataclasses
import os

import pytest

from tpdl import grading
from tpdl.core import i18n, manifest
from tpdl.course import data
from tpdl.grading import docker_engine, fresh

_ = i18n.domain(__file__)
lib = grading.grader_library(__file__)

pytestmark = pytest.mark.cell("docker_image_tests")

DIGITS = manifest.beside(__file__).samples["docker_digits"]


@pytest.fixture(scope="module")
def asked(handed_in, to_pixels):
    """Fresh digits, each labelled with the handed-in model's own answer (-1 where it hesitates)."""
    digits = fresh.mnist_digits(data.load_at_hand("mnist"), count=DIGITS)
    return dataclasses.replace(digits, labels=fresh.own_answers(handed_in.predict(to_pixels(digits.images))))


@pytest.fixture(scope="module")
def probe(student, asked):
    if os.environ.get("TPDL_DOCKER", "auto") == "off":
        pytest.skip(_("not run: Docker checks are turned off on the grading machine (not counted)"))
    digits = asked
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
def test_docker_image_serves_as_a_non_root_user(probe, asked):
    assert probe.built, _("the image did not build")
    assert probe.healthy and probe.predict_ok, probe.message
    lib.assert_clear(asked.labels, "mnist_dense.keras")
    compared = docker_engine.compared(asked.labels)
    assert probe.right == compared, _(
        "the container's answers differ from the model's own predictions on {differ} of {compared} digits "
        "drawn at grading time: does the image serve your model, with the pixels scaled as in training?",
        differ=compared - probe.right,
        compared=compared,
    )
    assert probe.non_root, _("the container runs as root")
