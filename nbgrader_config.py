"""Every nbgrader setting of the course lives here."""

import os

from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (
    ClearHiddenTests,
    ClearMarkScheme,
    ClearOutput,
    GetGrades,
    IncludeHeaderFooter,
    LockCells,
)

from tpdl.nbgrader_ext import ReduceTracebacks

c = get_config()  # noqa: F821 - provided by nbgrader when it loads this file

COURSE = os.path.dirname(os.path.abspath(__file__))  # traitlets defines __file__ for config files

c.CourseDirectory.root = COURSE
c.CourseDirectory.course_id = "tpdl"
c.CourseDirectory.solution_directory = "solutions"
c.CourseDirectory.db_url = f"sqlite:///{os.path.join(COURSE, 'gradebook.db')}"
# Releases, submissions and feedback travel through a folder of the course (single-machine use).
c.Exchange.root = os.path.join(COURSE, "exchange")
# The jupytext text form of a notebook holds its solutions: it never reaches a release.
c.CourseDirectory.ignore = [
    ".ipynb_checkpoints",
    "*.pyc",
    "__pycache__",
    "feedback",
    "*.nb.py",
    "mlflow.db",
    "mlruns",
]

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# TensorFlow's start-up lines on stderr must not cost a student the points of a test cell.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = (
    r"(oneDNN custom operations|cpu_feature_guard|absl::InitializeLog|rebuild TensorFlow"
    r"|Unable to register cu|TF-TRT Warning|computation placer already registered)"
)
c.Execute.timeout = 600
c.Execute.interrupt_on_timeout = True
c.LimitOutput.max_lines = 200

# Formgrader and generated feedback render students' notebooks: never their scripts or event handlers.
c.HTMLExporter.sanitize_html = True

# Feedback shows neither hidden tests nor the tracebacks that would quote them.
c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests, ReduceTracebacks, CSSHTMLHeaderPreprocessor]

# generate_solution would execute the notebook in source/ on the full budget: `tpdl solutions`
# executes the solution itself, in solutions/, on the budget it is asked for.
c.GenerateSolution.preprocessors = [IncludeHeaderFooter, LockCells, ClearOutput, ClearMarkScheme]
