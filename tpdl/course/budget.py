"""Training budgets: the same notebook code trains on full data or on a small CI budget.

Students get ``full`` by default; CI, the demo and grading set ``TPDL_BUDGET=ci``, and nbgrader's
Validate button and ``nbgrader validate`` (``NBGRADER_EXECUTION=validate``) run on ``ci`` too.
A training cell reads its sizes through :func:`current`::

    budget = tpdl.course.budget.current()
    EPOCHS = budget.pick(full=12, ci=1)
    x_train, y_train = budget.subset(x_train, y_train, ci=2000)
"""

import os
from dataclasses import dataclass

from tpdl.core.i18n import KIT as _

NAMES = ("full", "ci")
ENV = "TPDL_BUDGET"


@dataclass(frozen=True)
class Budget:
    name: str

    def __post_init__(self):
        if self.name not in NAMES:
            raise ValueError(
                _(
                    "unknown budget {name}: choose one of {names}",
                    name=repr(self.name),
                    names=", ".join(NAMES),
                )
            )

    @property
    def is_full(self) -> bool:
        return self.name == "full"

    def pick(self, *, full, ci):
        """The value for this budget."""
        return full if self.is_full else ci

    def subset(self, *arrays, ci: int, full: int | None = None):
        """The first ``ci`` (or ``full``; None keeps all) items of each array."""
        n = self.pick(full=full, ci=ci)
        return tuple(a if n is None else a[:n] for a in arrays)


def current() -> Budget:
    """The budget named by ``TPDL_BUDGET``; when unset, ``ci`` under nbgrader's validation and
    autograding (``NBGRADER_EXECUTION``), else ``full``."""
    default = "ci" if os.environ.get("NBGRADER_EXECUTION") in ("validate", "autograde") else "full"
    return Budget(os.environ.get(ENV, default).strip().lower() or default)
