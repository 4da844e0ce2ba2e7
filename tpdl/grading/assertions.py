"""The assertions every TP's graders make of what the student's code returns, each failing with a
message for the student (the kit's catalogue).

A grader imports them from ``tpdl.grading``. The graders' shared library (``graders/graderlib.py``)
adds the assertions that go with its named tolerances and its NumPy references (``assert_close``,
``assert_refuses``, ``as_scalar``): it lives beside the graders, which the jail never sees.
"""

import numpy as np

from tpdl.core.i18n import KIT as _
from tpdl.grading.student import StudentCodeError


def as_array(value, what: str, shape: tuple | None = None):
    """``value`` as a plain ndarray of ``shape`` (None for any axis), or an assertion for the student."""
    assert isinstance(value, np.ndarray), _(
        "{what} should be a NumPy array, not {type}", what=what, type=type(value).__name__
    )
    if shape is not None:
        assert value.ndim == len(shape) and all(e is None or e == n for e, n in zip(shape, value.shape)), _(
            "{what} has shape {shape}; expected {expected}",
            what=what,
            shape=value.shape,
            expected=tuple("any" if e is None else e for e in shape),
        )
    return value


def assert_accepts(student, name: str, *args, **kwargs) -> None:
    """``name`` must accept this valid input before a check of its refusals counts: a function that
    raises on everything refuses nothing."""
    try:
        student.call(name, *args, **kwargs)
    except StudentCodeError as error:
        raise AssertionError(
            _("{name} should accept valid input, and refuse only bad input ({error})", name=name, error=error)
        ) from None


def as_pair(value, what: str) -> tuple:
    """``value`` as a 2-tuple, or an assertion for the student."""
    assert isinstance(value, (tuple, list)) and len(value) == 2, _(
        "{what} should return a pair (two values)", what=what
    )
    return tuple(value)
