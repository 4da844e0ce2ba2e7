"""Does a worker turn what the student's code raises into answers, serve only its own requests, and
does the zygote answer its control channel with the declared messages?"""

import socket
import subprocess
import sys
import threading

import pytest

from tpdl.judge import protocol, wire
from tpdl.judge.worker import common, zygote


class BadInput(ValueError):
    pass


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (BadInput("no digits\nsecond line"), "ValueError: no digits"),
        (KeyError("x"), "KeyError: 'x'"),
        (KeyboardInterrupt(), "KeyboardInterrupt"),
        (SystemExit(3), "SystemExit: 3"),
    ],
)
def test_what_the_students_code_raises_becomes_a_raised_refusal(error, message):
    with pytest.raises(common.Refused) as refused, common.students_code():
        raise error
    assert (refused.value.kind, refused.value.message) == ("raised", message)


def test_code_that_returns_passes_through_untouched():
    with common.students_code():
        value = 6 * 7
    assert value == 42


@pytest.fixture
def served():
    """A ``notebook`` worker's loop over one end of a socket pair, with two handlers of its own."""

    def call(request: protocol.Call) -> protocol.CallValue:
        if request.name == "broken":
            raise ZeroDivisionError("division by zero")
        if request.name == "absent":
            raise common.Refused("missing", "absent is not defined in your notebook")
        return protocol.CallValue(value=sum(request.args))

    judge, worker = socket.socketpair()
    loop = threading.Thread(target=common.serve, args=(worker, "notebook", {protocol.Call: call}))
    loop.start()

    def ask(request: protocol.Request, nonce: str = "n1"):
        wire.send(judge, protocol.request_frame(request, nonce))
        return protocol.parse_answer(request, wire.recv(judge), nonce)

    yield ask
    judge.close()  # the loop ends when the judge hangs up
    loop.join(timeout=5)
    worker.close()
    assert not loop.is_alive()


def test_a_handler_answers_and_a_raised_error_is_an_error_answer(served):
    assert served(protocol.Call(name="add", args=[1, 2, 3])) == (True, protocol.CallValue(value=6))
    ok, error = served(protocol.Call(name="broken"))
    assert not ok and (error.kind, error.message) == ("raised", "ZeroDivisionError: division by zero")
    ok, error = served(protocol.Call(name="absent"))
    assert not ok and error.kind == "missing"


def test_a_request_of_another_kind_of_worker_is_refused_and_the_loop_goes_on(served):
    ok, error = served(protocol.RunCell(source="1 + 1"))
    assert not ok and error.kind == "protocol" and "does not serve 'run_cell'" in error.message
    assert served(protocol.Call(name="add", args=[2, 2])) == (True, protocol.CallValue(value=4))


def test_the_zygote_refuses_a_line_that_is_not_one_of_its_requests():
    state = zygote.Zygote(control_out=sys.stdout)
    for line in ('{"op": "fork_bomb"}', "not json", '{"op": "reap", "token": "../../etc"}'):
        assert isinstance(state.answer(line), protocol.ZygoteRefusal), line


def test_the_zygote_reaps_only_what_it_forked_and_kills_no_user_it_may_not():
    state = zygote.Zygote(control_out=sys.stdout)
    reaped = state.answer(protocol.control_line(protocol.Reap(token="0123456789ab", wait_s=0)))
    assert reaped == protocol.Reaped(token="0123456789ab", status=None)
    killed = state.answer(protocol.control_line(protocol.KillUsers(uids=[0])))  # root is never a worker
    assert killed == protocol.UsersKilled(killed=[])


def test_the_package_runs_as_the_sandboxs_program_and_says_how():
    done = subprocess.run([sys.executable, "-m", "tpdl.judge.worker"], capture_output=True, text=True)
    assert done.returncode == 1 and "usage: python -m tpdl.judge.worker zygote" in done.stderr
