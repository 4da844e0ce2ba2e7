"""nbgrader settings for validating this assignment in its own folder (`nbgrader validate`)."""

c = get_config()  # noqa: F821 - provided by nbgrader
# Validation runs the notebook on the kit's small `ci` budget: a few seconds per cell, but a
# first TensorFlow import or a training cell can take longer than nbgrader's default 30 s.
c.Execute.timeout = 300
c.Execute.interrupt_on_timeout = True
