"""nbgrader settings for validating this assignment in its own folder (`nbgrader validate`)."""

c = get_config()  # noqa: F821 - provided by nbgrader
# Validation runs the notebook on the kit's small `ci` budget: a few seconds per cell, but a
# first TensorFlow import or a training cell can take longer than nbgrader's default 30 s.
c.Execute.timeout = 300
c.Execute.interrupt_on_timeout = True
# It also runs the notebook as the judge does (cells tagged skip-grading skipped): a function that
# needs a skipped cell fails its grade cell, with a message naming that cell.
from tpdl.judge import judge_state  # noqa: E402

c.Validator.Execute.on_cell_start = judge_state.on_cell_start
