# The course kit's commands. `make demo` and `make test` set everything up on a fresh machine.

SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
FORMGRADER := $(VENV)/etc/jupyter/jupyter_server_config.d/tpdl.classroom.formgrader.json
TPDL := $(BIN)/tpdl
ASSIGNMENTS := $(patsubst source/%/,%,$(dir $(wildcard source/*/*.nb.py)))
export TF_CPP_MIN_LOG_LEVEL := 2

.PHONY: help setup release solutions sample-class sample-runs demo test test-fast test-nbgrader bench docker-check exchange lab hub hub-stop docs lock clean

help:
	@echo "make demo       set up, build the releases, grade the sample class into reports/<tp>/sample_class/, print the table"
	@echo "make setup      .venv with requirements.lock's versions and the kit; bubblewrap, chromium, Slurm and munge where missing"
	@echo "make test       set up if needed, run the kit's tests"
	@echo "make test-fast  the kit's tests without the slow ones (no class runs)"
	@echo "make test-nbgrader  nbgrader's own tests of its commands, on courses with the kit's settings"
	@echo "make release    build release/<tp>/ from source/<tp>/, and release/<tp>-fr/ from the French edition"
	@echo "make solutions  build and execute solutions/<tp>/ on the ci budget"
	@echo "make sample-class  rewrite sample_class/{reference,untouched} from the sources"
	@echo "make sample-runs   re-run the reference students on the full budget (MLflow stores, figures)"
	@echo "make bench      full-data benchmarks, figures written to bench/results.md"
	@echo "make docker-check  prepare Docker's base images and TP1's wheelhouse; build and probe the reference in the box"
	@echo "make lab        JupyterLab on the course, with nbgrader's extensions (and its exchange), in the course's language"
	@echo "make hub        as root: the course on a JupyterHub, an account per person of hub/roster.csv (ROSTER=...)"
	@echo "make hub-stop   stop the hub, remove its accounts, their homes and its folder"
	@echo "make docs       serve the documentation site (docs/, mkdocs.yml) on http://127.0.0.1:8000"
	@echo "make exchange   nbgrader's exchange folder in the course, open to every user"
	@echo "make lock       re-resolve requirements.lock from requirements.txt"
	@echo "make clean      remove what the commands generate (releases, solutions, grading outputs, gradebook)"

setup: $(STAMP) $(FORMGRADER)

# A virtual environment with the locked dependencies, the kit installed in it, and the sandbox tool.
$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "Python 3.11 is needed (set PYTHON=...)")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv
	$(BIN)/uv pip install --python $(BIN)/python --quiet --compile-bytecode -r requirements.lock
	$(BIN)/uv pip install --python $(BIN)/python --quiet --no-deps -e .
	@command -v bwrap >/dev/null || scripts/install-bubblewrap
	@command -v chromium >/dev/null || scripts/install-chromium
	@command -v slurmctld >/dev/null || scripts/install-slurm
	touch $@

# formgrader's pages give the total nbgrader export gives, net of the late penalty (tpdl/classroom/formgrader.py): the
# kit's server extension loads nbgrader's formgrader in place of nbgrader's own entry, which would answer first.
$(FORMGRADER): jupyter-config/jupyter_server_config.d/tpdl.classroom.formgrader.json $(STAMP)
	install -D -m 644 $< $@

release: $(STAMP)
	$(TPDL) release $(ASSIGNMENTS)

solutions: $(STAMP)
	TPDL_BUDGET=ci $(TPDL) solutions $(ASSIGNMENTS)

# After editing a source notebook: the sample class's reference and untouched students follow it.
sample-class: release
	$(TPDL) samples $(ASSIGNMENTS)

# Minutes: each reference notebook runs on the full data, as a student's would.
sample-runs: release
	$(TPDL) samples --run  # the TPs whose graders/<tp>/manifest.toml says sample_run

# The sample class is graded apart from the class: everything it writes is in reports/<tp>/sample_class/
# (the course's gradebook, autograded/, feedback/ and reports/<tp>/grades.csv stay the class's).
demo: release
	@for a in $(ASSIGNMENTS); do \
	  $(TPDL) grade $$a --submissions sample_class --force --json reports/$$a/sample_class/class.json || exit $$?; \
	done

# The tests wait much of the time (on sandboxed workers, subprocesses, servers, a browser): three
# pytest-xdist workers keep two cores busy where two leave them idle about 7 % of the time. Each starts
# with a share of the tests and takes over half of what another has left when it runs out (worksteal);
# a set-up that tests share (an attacked class graded) is built once per run by whichever worker needs
# it first (`built_once` in tests/conftest.py).
TEST_WORKERS ?= 3
# The quick tests wait less: two workers (three gain nothing there, measured).
FAST_WORKERS ?= 2
PYTEST := $(BIN)/python -m pytest -q --dist worksteal

test: $(STAMP) $(FORMGRADER)
	$(PYTEST) -n $(TEST_WORKERS)

test-fast: $(STAMP)
	$(PYTEST) -n $(FAST_WORKERS) -m "not slow"

# nbgrader's tests of collect, autograde, generate_feedback, release_feedback, export, validate and
# submit, from the installed package, each course laid over the kit's nbgrader_config.py
# (tests/nbgrader_contract/conftest.py). `make test` collects them with the kit's tests, on the same workers.
test-nbgrader: $(STAMP)
	$(PYTEST) -n $(TEST_WORKERS) tests/nbgrader_contract

bench: $(STAMP)
	$(BIN)/python bench/benchmarks.py $(BENCH)

# Root on Debian: installs Docker's engine if missing, puts the base images in its store (pulled, or a
# local python:3.11-slim stand-in) and TP1's wheelhouse in the user's cache, builds the reference in the box.
docker-check: $(STAMP)
	PY=$(BIN)/python scripts/docker-check

# nbgrader's exchange (nbgrader_config.py puts it in the course): every user may hand work in.
EXCHANGE ?= exchange
exchange:
	mkdir -p $(EXCHANGE) && chmod 777 $(EXCHANGE)

# JupyterLab refuses to start as root unless told: a course machine's instructor may well be root.
# PYTHONSAFEPATH: a kernel started on a student's notebook (in submitted/) imports no module handed in beside it.
# It speaks the course's language (c.Kit.language): its own words, and the releases it opens on (tpdl/classroom/lab.py).
LAB_SETTINGS := $(abspath $(VENV))/lab-settings
lab: release exchange $(FORMGRADER)
	$(TPDL) lab-settings $(LAB_SETTINGS)
	PYTHONSAFEPATH=1 JUPYTER_CONFIG_PATH=$(LAB_SETTINGS) $(BIN)/jupyter lab --notebook-dir=. $(if $(filter 0,$(shell id -u)),--allow-root)

# The course on a JupyterHub (tpdl/classroom/hub.py): accounts from the roster, the students' environment
# from the kit's published package, the course in the instructor's home, an exchange no student can read.
ROSTER ?= hub/roster.csv
HUB_ROOT ?= /srv/tpdl-hub
HUB_PORT ?= 8800
hub: release $(FORMGRADER)
	$(TPDL) hub up --roster $(ROSTER) --root $(HUB_ROOT) --port $(HUB_PORT)

hub-stop: $(STAMP)
	$(TPDL) hub down --root $(HUB_ROOT)

# The documentation site, rebuilt as its pages change; `make test` builds it with --strict (tests/test_docs.py).
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve

lock:
	$(BIN)/uv pip compile --quiet --universal --python-version 3.11 requirements.txt -o requirements.lock

clean:
	rm -rf release solutions autograded feedback reports submitted gradebook.db
