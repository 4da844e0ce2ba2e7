"""The code that runs inside the sandbox: a zygote and the workers it forks, one module per kind.

The zygote (:mod:`~tpdl.judge.worker.zygote`) imports the heavy libraries once (TensorFlow, Keras),
runs no TensorFlow operation, and forks one fresh worker per request of the judge. Each worker
connects back to the judge over a Unix socket in its control folder, waits until the judge has
placed it in its control group, drops to its own unprivileged user, installs its system-call
filter (``tpdl.judge.seccomp``), sets its resource limits, proves who it is
(``tpdl.judge.protocol.Hello``; all of it in :mod:`~tpdl.judge.worker.common`) and then is one of:

* :mod:`~tpdl.judge.worker.notebook`: executes the student's notebook and answers calls of the
  student's functions;
* :mod:`~tpdl.judge.worker.models`: runs no student code; saved Keras models, MLflow tracking
  stores, the kit's own reference models, and the HTTP client of a service;
* :mod:`~tpdl.judge.worker.graphs`: runs no student Python; evaluates, differentiates and trains
  with TensorFlow graphs traced from the student's functions;
* :mod:`~tpdl.judge.worker.cells`: runs a plain nbgrader notebook cell by cell, as a Jupyter kernel would;
* :mod:`~tpdl.judge.worker.service`: serves the student's web application with gunicorn.

Every message is declared in ``tpdl.judge.protocol``; each worker has one handler per request it
serves. Students' code never runs in the zygote.

TensorFlow, Keras, NumPy and matplotlib are imported inside the handlers that use them, never at a
module's top: the zygote imports what its jail preloads before it forks, and the judge's run of a
notebook under validation (``python -m tpdl.judge.worker.notebook``) pays only for what it uses.
"""
