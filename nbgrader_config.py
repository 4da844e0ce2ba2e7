"""Every nbgrader setting of the course lives here."""

import os

import nbgrader
from nbconvert.preprocessors import CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (
    ClearHiddenTests,
    ClearMarkScheme,
    ClearOutput,
    GetGrades,
    IncludeHeaderFooter,
    LockCells,
)

import tpdl
from tpdl.classroom.nbgrader_ext import ReduceTracebacks
from tpdl.judge import judge_state

c = get_config()  # noqa: F821 - provided by nbgrader when it loads this file

COURSE = os.path.dirname(os.path.abspath(__file__))  # traitlets defines __file__ for config files

c.CourseDirectory.root = COURSE
c.CourseDirectory.course_id = "tpdl"
c.CourseDirectory.solution_directory = "solutions"
c.CourseDirectory.db_url = f"sqlite:///{os.path.join(COURSE, 'gradebook.db')}"
# Releases, submissions and feedback travel through a folder of the course (single-machine use).
c.Exchange.root = os.path.join(COURSE, "exchange")
# Left out of every copy nbgrader makes (release, collect, autograde, feedback). The jupytext text
# form of a notebook holds its solutions; the judge's results and log stay out of feedback/.
# Tracking stores are *not* listed: students hand them in (`tpdl release` keeps them out of releases).
c.CourseDirectory.ignore = [
    ".ipynb_checkpoints",
    "*.pyc",
    "__pycache__",
    "feedback",
    "*.nb.py",
    "results.json",
    "grading.log",
]

# nbgrader's commands, and formgrader's buttons, release, grade and give feedback the kit's way
# (tpdl.classroom.nbgrader_ext): generate_assignment ends the release as `tpdl release` does (stubs in every
# template, handin.json, the leak finder) or leaves none; release_assignment refuses a release the
# leak finder faults; collect copies no link target and no pipe, and dates a submission by the last
# change in it; autograde runs the kit's judge in its sandbox; generate_feedback writes the kit's
# page (checks, messages, hand grades, total).
c.GenerateAssignment.exporter_class = "tpdl.classroom.nbgrader_ext.KitRelease"
c.ExchangeFactory.release_assignment = "tpdl.classroom.nbgrader_ext.GuardedRelease"
c.ExchangeFactory.collect = "tpdl.classroom.nbgrader_ext.SafeCollect"
c.Autograde.exporter_class = "tpdl.classroom.nbgrader_ext.SandboxedAutograde"
c.GenerateFeedback.exporter_class = "tpdl.classroom.nbgrader_ext.KitFeedback"

# Late work: one point off per started hour late, from the due date set with
# `nbgrader db assignment add tp1 --duedate=...` or in formgrader; `tpdl grade` applies it.
c.AssignLatePenalties.plugin_class = "tpdl.classroom.nbgrader_ext.PenaltyPerHour"
c.PenaltyPerHour.points_per_hour = 1.0

# The students' language ("en" or "fr"): the feedback pages and the judge's messages, from `tpdl grade`,
# `nbgrader autograde`, `nbgrader generate_feedback` and formgrader's buttons alike (tpdl.core.config).
# `TPDL_LANG=fr` overrides it for one command.
c.Kit.language = "en"

c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# TensorFlow's start-up lines on stderr must not cost a student the points of a test cell
# (nbgrader's own executions: the judge counts no stream; `import tpdl` quiets MLflow's log).
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = (
    r"(oneDNN custom operations|cpu_feature_guard|absl::InitializeLog|rebuild TensorFlow"
    r"|Unable to register cu|TF-TRT Warning|computation placer already registered"
    r"|mlflow\.store|alembic\.runtime|Creating initial MLflow database)"
)
# The Validate button and `nbgrader validate` also run the notebook as the judge does (its cells
# tagged skip-grading skipped), and fail the grade cell of a function that needs a skipped cell.
c.Validator.Execute.on_cell_start = judge_state.on_cell_start
c.Execute.timeout = 600
c.Execute.interrupt_on_timeout = True
c.LimitOutput.max_lines = 200

# Formgrader and generated feedback render students' notebooks: never their scripts or event handlers.
c.HTMLExporter.sanitize_html = True
# ... and load nothing from outside: nbconvert's MathJax macro (a CDN) is replaced by the kit's, which
# loads MathJax from the course's own server (jupyter-server-mathjax). formgrader's and nbgrader's
# feedback templates stay where nbgrader keeps them.
c.HTMLExporter.extra_template_basedirs = [
    os.path.join(os.path.dirname(tpdl.__file__), "templates", "nbconvert"),
    os.path.join(os.path.dirname(nbgrader.__file__), "server_extensions", "formgrader", "templates"),
]

# Feedback shows neither hidden tests nor the tracebacks that would quote them.
c.GenerateFeedback.preprocessors = [GetGrades, ClearHiddenTests, ReduceTracebacks, CSSHTMLHeaderPreprocessor]

# generate_solution would execute the notebook in source/ on the full budget: `tpdl solutions`
# executes the solution itself, in solutions/, on the budget it is asked for.
c.GenerateSolution.preprocessors = [IncludeHeaderFooter, LockCells, ClearOutput, ClearMarkScheme]
