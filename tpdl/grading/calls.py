"""The student's functions called by the judge in the notebook worker, where the student's code
runs: each question one request of ``tpdl.judge.protocol``, each answer plain data."""

import numpy as np

from tpdl.core.i18n import KIT as _
from tpdl.judge import protocol, sandbox
from tpdl.judge.session import MAX_DELIVERABLE_BYTES, Session, StudentCodeError


def failure(name: str, error: sandbox.WorkerError) -> StudentCodeError:
    """The student's message for an error answer to a call of their function ``name``."""
    if error.kind == "raised":
        if error.message.startswith("NotImplementedError"):
            return StudentCodeError(
                _("{name} is not implemented yet (it raises NotImplementedError).", name=name)
            )
        return StudentCodeError(_("{name} raised {error}", name=name, error=error.message))
    return StudentCodeError(error.message)


class NotebookCalls:
    """What a grader asks of the notebook worker: calls of the student's functions, files of its folder."""

    session: Session

    def ask_function(self, name: str, request: protocol.Request):
        """Ask the notebook worker ``request`` of the student's function ``name``; an error answer
        becomes :class:`StudentCodeError`, with the student's message."""
        try:
            return self.session.ask_notebook(request, name)
        except sandbox.WorkerError as error:
            raise failure(name, error) from None

    def call(self, name: str, *args, **kwargs):
        """Call the student's function ``name`` with the judge's arguments; return its plain result."""
        return self.ask_function(name, protocol.Call(name=name, args=list(args), kwargs=kwargs)).value

    def call_with_tensors(self, name: str, *args, **kwargs):
        """Like :meth:`call`, the arrays among ``args`` given to the function as the backend's tensors."""
        return self.ask_function(
            name, protocol.Call(name=name, args=list(args), kwargs=kwargs, tensors=True)
        ).value

    def call_and_inputs(self, name: str, *args, **kwargs) -> tuple:
        """Like :meth:`call`, and also the arguments as the call left them: ``(value, args, kwargs)``.

        Arguments cross by value, so a function that changes its inputs in place is seen only here.
        """
        request = protocol.Call(name=name, args=list(args), kwargs=kwargs, return_inputs=True)
        answer = self.ask_function(name, request)
        if answer.args is None:
            raise StudentCodeError(
                _("the arguments of {name} could not be read back after the call", name=name)
            )
        return answer.value, answer.args, answer.kwargs or {}

    def error_raised(self, name: str, *args, **kwargs) -> str | None:
        """Call ``name`` expecting it to refuse its arguments: the class name of what it raised, or None."""
        try:
            self.session.ask_notebook(
                protocol.Call(name=name, args=list(args), kwargs=kwargs, discard_value=True), name
            )
        except sandbox.WorkerError as error:
            if error.kind != "raised":
                raise StudentCodeError(error.message) from None
            if error.message.startswith("NotImplementedError"):
                raise StudentCodeError(
                    _("{name} is not implemented yet (it raises NotImplementedError).", name=name)
                ) from None
            return error.message.partition(":")[0]
        return None

    def layer_call(
        self, name: str, init: dict, args: list, kwargs: dict | None = None, weights: list | None = None
    ) -> tuple:
        """Make the student's layer ``name(**init)``, call it on ``args`` (arrays given as tensors)
        with ``kwargs``; with ``weights``, set them first (after a call that builds it).
        Returns ``(outputs, weight_shapes)``: an array, or a list of arrays for several outputs."""
        request = protocol.LayerCall(
            name=name,
            init=dict(init),
            args=list(args),
            kwargs=dict(kwargs or {}),
            weights=None if weights is None else [np.asarray(w) for w in weights],
        )
        answer = self.ask_function(name, request)
        return answer.outputs, [tuple(shape) for shape in answer.weight_shapes]

    def figure(self, name: str, *args, **kwargs) -> dict:
        """Call ``name``, which returns a matplotlib Figure; what the figure shows (see
        ``tpdl.judge.protocol.FigureDescription``): the judge grades a plot on its data, not its pixels."""
        return protocol.plain(
            self.ask_function(name, protocol.DescribeFigure(name=name, args=list(args), kwargs=kwargs))
        )

    def give_file(self, relative: str, data: bytes) -> None:
        """Create ``relative`` with the judge's ``data`` in the folder where the student's code runs
        (before a call that uses it)."""
        self.session.give_notebook(relative, data)

    def worker_file_exists(self, relative: str) -> bool:
        """Did the student's code, called by the judge, leave the plain file ``relative`` in its folder?"""
        return self.session.notebook_file(relative, MAX_DELIVERABLE_BYTES) is not None

    def worker_file(self, relative: str) -> bytes | None:
        """The bytes of a plain file the student's code, called by the judge, left in its folder."""
        return self.session.notebook_file(relative, MAX_DELIVERABLE_BYTES)
