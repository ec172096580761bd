# Backprop through Batch Norm: `make book` builds the site, `make test` runs every test.
# Each target installs what it needs into .venv first.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
BOOK_STAMP := $(VENV)/.installed-book
TEST_STAMP := $(VENV)/.installed-test
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
PORT ?= 8000
PYTEST_ARGS ?=

,:= ,
.PHONY: help install lock book pdf test test-all test-fast serve clean bench assignments grade notebooks-branch

help:
	@echo "make book         build the site into book/_build/html (executes every chapter)"
	@echo "make pdf          build the PDF edition (book/_build/latex/backprop-batchnorm.pdf, copied into the site)"
	@echo "make test         run every test (unit, property, build, notebooks, browser, PDF, grader)"
	@echo "make test-all     make test, and the tests that need fresh environments (Colab, Binder, Gradescope)"
	@echo "make lock         recompile requirements*.lock after editing requirements*.txt (UPGRADE=1: newest)"
	@echo "make serve        serve the built site on http://127.0.0.1:$(PORT)"
	@echo "make bench        run the benchmarks, write bench/results.json"
	@echo "make assignments  generate student and autograder versions in assignments/dist"
	@echo "make grade SUBMISSION=path.ipynb|folder [ASSIGNMENT=name]   grade in a sandbox (GRADE_ARGS='-j 2 --csv grades.csv')"
	@echo "make clean        remove the built site, caches and generated files"

$(BIN)/python:
	@echo ">> creating the virtual environment $(VENV) (Python: $(PYTHON)) with uv, which installs the locks"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -qq --disable-pip-version-check "$$(grep -m1 '^uv==' requirements.txt | cut -d' ' -f1)"

# Every installed package comes from a lock (requirements.lock, requirements-test.lock: name==version
# for the whole tree, compiled from requirements*.txt by `make lock`). lib is installed editable,
# built with the lock's setuptools (no build isolation, so nothing unpinned is fetched).
# --compile-bytecode writes every package's .pyc at install time: where PYTHONDONTWRITEBYTECODE
# is set, Python would otherwise compile sympy, scikit-learn and matplotlib again in every process
# (a kernel, a grader's sandbox): measured here, sympy's import fell from 4 s to 0.7 s.
UV_INSTALL = $(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python
$(BOOK_STAMP): requirements.lock pyproject.toml | $(BIN)/python
	@echo ">> installing the book's locked tree (requirements.lock) and lib (editable)"
	$(UV_INSTALL) -r requirements.lock
	$(UV_INSTALL) --no-deps --no-build-isolation -e .
	@touch $@

# Recompile the locks after editing requirements.txt or requirements-test.txt. Pins already in a
# lock are kept; `make lock UPGRADE=1` moves every package to its newest version that resolves.
LOCK_FLAGS = --quiet --python-version 3.11 --python-platform x86_64-unknown-linux-gnu $(if $(UPGRADE),--upgrade)
lock: | $(BIN)/python
	$(BIN)/uv pip compile $(LOCK_FLAGS) requirements.txt -o requirements.lock
	$(BIN)/uv pip compile $(LOCK_FLAGS) requirements.txt requirements-test.txt -c requirements.lock \
	  -o requirements-test.lock

# What the site serves itself (Thebe for Live Code, KaTeX's style sheet and fonts): pinned npm tarballs, hash-checked.
VENDOR_STAMP := book/_vendor/.fetched
$(VENDOR_STAMP): tools/npm_fetch.py | $(BIN)/python
	$(BIN)/python tools/npm_fetch.py book/_vendor
	@touch $@

# Debian's TeX for the PDF edition (XeLaTeX, latexmk, xindy, FreeFont) and poppler's tools,
# which the PDF tests use.
TEX_PACKAGES := texlive-latex-recommended texlive-latex-extra texlive-fonts-recommended texlive-xetex \
                latexmk lmodern fonts-freefont-otf tex-gyre xindy poppler-utils
define install_tex
	@if ! command -v xelatex >/dev/null || ! command -v latexmk >/dev/null || ! command -v xindy >/dev/null \
	     || ! command -v pdftotext >/dev/null; then \
	  echo ">> installing Debian's TeX for the PDF edition (apt-get: $(TEX_PACKAGES))"; \
	  $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends $(TEX_PACKAGES) >/dev/null; \
	fi
endef

# Debian's Node.js: the build typesets the math with KaTeX under Node (book/_ext/local_katex.py).
define install_node
	@if ! command -v node >/dev/null; then \
	  echo ">> installing Debian's nodejs, which typesets the book's math at build time (apt-get)"; \
	  $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends nodejs >/dev/null; \
	fi
endef

define install_bwrap
	@if ! command -v bwrap >/dev/null || ! command -v prlimit >/dev/null; then \
	  echo ">> installing Debian's bubblewrap, the grader's sandbox (apt-get)"; \
	  $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    --no-install-recommends bubblewrap util-linux >/dev/null; \
	fi
endef

install: $(BOOK_STAMP) $(VENDOR_STAMP)

# Debian's packages the tests use: chromium (browser tests), nodejs (KaTeX at build time), TeX
# and poppler (PDF tests), bubblewrap and prlimit (the grader's sandbox). One apt-get run,
# only when one of their commands is missing.
TEST_COMMANDS := chromium node xelatex latexmk xindy pdftotext bwrap prlimit
define install_test_debs
	@missing=; for c in $(TEST_COMMANDS); do command -v $$c >/dev/null || missing="$$missing $$c"; done; \
	if [ -n "$$missing" ]; then \
	  echo ">> installing Debian's chromium, nodejs, TeX, poppler and bubblewrap (missing:$$missing)"; \
	  $(SUDO) apt-get update -qq && \
	  $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null && \
	  $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	    nodejs bubblewrap util-linux $(TEX_PACKAGES) >/dev/null; \
	fi
endef

$(TEST_STAMP): requirements-test.lock $(BOOK_STAMP) $(VENDOR_STAMP)
	@echo ">> installing the test tools' locked tree (requirements-test.lock)"
	$(UV_INSTALL) -r requirements-test.lock
	$(install_test_debs)
	@touch $@

book: $(BOOK_STAMP) $(VENDOR_STAMP)
	$(install_node)
	@echo ">> building the book into book/_build/html (every chapter executed; unchanged ones come from the cache)"
	$(BIN)/jupyter-book build book --warningiserror --nitpick --keep-going
	@echo ">> done: open book/_build/html/index.html, or run 'make serve'"

PDF := book/_build/latex/backprop-batchnorm.pdf
pdf: $(BOOK_STAMP) $(VENDOR_STAMP)
	$(install_tex)
	@echo ">> building the PDF edition with XeLaTeX (chapters from the execution cache)"
	LATEXMKOPTS=-silent $(BIN)/jupyter-book build book --builder pdflatex --warningiserror --nitpick --keep-going
	@if [ -d book/_build/html ]; then cp $(PDF) book/_build/html/; echo ">> copied into the site: book/_build/html/backprop-batchnorm.pdf"; fi
	@echo ">> done: $(PDF)"


# make test: the strict build of the book runs in the background (tests/book_build.py) while the
# fast tests run, and then the assignments are generated (generate.py), so both cores work; the
# slow tests then read that one build and those assignments (each chapter is executed once a
# run), handed to the two workers a test at a time (the PDF is built once, by the first worker
# that needs it). make test-all adds the tests that need an environment of their own, a test file
# to a worker, so that each fresh environment is made once. (--dist loadgroup would keep a
# module's tests together, but it groups nothing with pytest 9.2: pytest-dev/pytest-xdist#1386.)
TEST_SITE := test-artifacts/site
TEST_DIST := test-artifacts/dist
define run_tests
	@echo ">> the strict build of the book (background, into $(TEST_SITE)); the fast tests, then the assignments (into $(TEST_DIST))"
	@rm -rf $(TEST_DIST); \
	  $(BIN)/python tests/book_build.py $(TEST_SITE) > $(TEST_SITE).log 2>&1 & build=$$!; \
	  $(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS); fast=$$?; \
	  if [ $$fast = 0 ]; then ( $(BIN)/python assignments/tools/generate.py --out $(TEST_DIST) \
	    && touch $(TEST_DIST)/.complete ) > $(TEST_DIST).log 2>&1; fi; \
	  wait $$build; tail -n 1 $(TEST_SITE).log; \
	  if [ $$fast != 0 ]; then echo ">> fast tests failed"; exit $$fast; fi
	@echo ">> slow tests on both cores: the build, notebooks, browser, PDF, warm cache, grader$(1)"
	BNBOOK_TEST_SITE=$(TEST_SITE) BNBOOK_TEST_DIST=$(TEST_DIST) \
	  $(BIN)/python -m pytest -m "$(2)" -n 2 --dist $(3) $(PYTEST_ARGS)
endef

test: $(TEST_STAMP)
	@mkdir -p test-artifacts
	$(call run_tests,,slow and not fresh_env,load)

test-all: $(TEST_STAMP)
	@mkdir -p test-artifacts
	$(call run_tests,; fresh environments: Colab-like venv$(,) Binder$(,) Gradescope zips,slow,loadfile)

test-fast: $(TEST_STAMP)
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

# The benchmarks need the test tools' tree: otter-grader and bubblewrap (grading), Playwright
# and Debian's chromium (static, pages; these two read `make book`'s site and say so without it).
BENCH_ARGS ?=
bench: $(TEST_STAMP)
	@echo ">> benchmarks: backward methods, widgets, a clean book build, every chapter cold, symbolic checks, grading (18 min on 2 cores)"
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# Instructor kit: otter-grader (requirements-test.txt) turns assignments/masters/*.py into
# student notebooks and autograder zips; regenerated when a master or the lib they use changes.
# Generating needs only the book's tree and otter-grader at its locked version (with what it
# pulls in, from the lock): no TeX, Chromium, Node or bubblewrap.
OTTER_STAMP := $(VENV)/.installed-otter
$(OTTER_STAMP): requirements-test.lock $(BOOK_STAMP)
	@echo ">> installing otter-grader at its locked version (requirements-test.lock)"
	$(UV_INSTALL) "$$(grep -i '^otter-grader==' requirements-test.lock)" -c requirements-test.lock
	@touch $@

ASSIGNMENTS_STAMP := assignments/dist/.generated
$(ASSIGNMENTS_STAMP): $(OTTER_STAMP) $(wildcard assignments/masters/*.py) $(wildcard assignments/tools/*.py) \
                      $(wildcard lib/*.py)
	@echo ">> generating student notebooks and autograders into assignments/dist (otter assign)"
	$(BIN)/python assignments/tools/generate.py --out assignments/dist
	@touch $@

assignments: $(ASSIGNMENTS_STAMP)

# The content of the `notebooks` branch (the deploy workflow publishes it; Colab and
# nbgitpuller open it): the chapters' generated notebooks, and the student folders.
notebooks-branch: $(ASSIGNMENTS_STAMP)
	@test -d book/_build/notebooks || { echo "no generated notebooks: run 'make book' first"; exit 1; }
	rm -rf book/_build/notebooks/assignments && mkdir -p book/_build/notebooks/assignments
	for dir in assignments/dist/*/student; do cp -r "$$dir" "book/_build/notebooks/assignments/$$(basename "$$(dirname "$$dir")")"; done
	cp tools/notebooks-branch-README.md book/_build/notebooks/README.md

# The grader runs every submission in Debian's bubblewrap. SUBMISSION and ASSIGNMENT reach
# the recipe as environment variables, never pasted into the shell line: a file name with
# quotes, backquotes or $(...) in it is only a file name ($(value ...): make expands nothing).
override SUBMISSION := $(value SUBMISSION)
override ASSIGNMENT := $(value ASSIGNMENT)
export SUBMISSION ASSIGNMENT
GRADE_ARGS ?=
grade: $(BOOK_STAMP)      # the grader reads the masters' specs (assignments/tools), not assignments/dist
	$(install_bwrap)
	@test -n "$$SUBMISSION" || { echo "usage: make grade SUBMISSION=path/to/notebook.ipynb|folder [ASSIGNMENT=name]"; exit 2; }
	@$(BIN)/python assignments/tools/grade.py "$$SUBMISSION" $${ASSIGNMENT:+--assignment "$$ASSIGNMENT"} $(GRADE_ARGS)

serve:
	@test -f book/_build/html/index.html || { echo "no built site: run 'make book' first"; exit 1; }
	@echo ">> serving book/_build/html on http://127.0.0.1:$(PORT) (Ctrl-C stops)"
	$(PYTHON) -m http.server $(PORT) --bind 127.0.0.1 --directory book/_build/html

clean:
	rm -rf book/_build book/_vendor assignments/dist bench/results.json test-artifacts .pytest_cache .hypothesis
	find . -name __pycache__ -not -path "./$(VENV)/*" -prune -exec rm -rf {} +
