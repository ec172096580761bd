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

.PHONY: help install book pdf test test-fast serve clean bench assignments grade notebooks-branch

help:
	@echo "make book         build the site into book/_build/html (executes every chapter)"
	@echo "make pdf          build the PDF edition (book/_build/latex/backprop-batchnorm.pdf, copied into the site)"
	@echo "make test         run every test (unit, property, build, notebooks, browser)"
	@echo "make serve        serve the built site on http://127.0.0.1:$(PORT)"
	@echo "make bench        run the benchmarks, write bench/results.json"
	@echo "make assignments  generate student and autograder versions in assignments/dist"
	@echo "make grade SUBMISSION=path.ipynb|folder [ASSIGNMENT=name]   grade in a sandbox (GRADE_ARGS='-j 2 --csv grades.csv')"
	@echo "make clean        remove the built site, caches and generated files"

$(BIN)/python:
	@echo ">> creating the virtual environment $(VENV) (Python: $(PYTHON))"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -qq --upgrade pip

$(BOOK_STAMP): requirements.txt pyproject.toml | $(BIN)/python
	@echo ">> installing the book's requirements (requirements.txt) and lib (pip install -e .)"
	$(BIN)/python -m pip install -qq -r requirements.txt
	@# lib is imported from the checkout (editable); setuptools says so in a warning that is no news here
	PYTHONWARNINGS=ignore $(BIN)/python -m pip install -qq --no-deps -e .
	@touch $@

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

$(TEST_STAMP): requirements-test.txt $(BOOK_STAMP) $(VENDOR_STAMP)
	@echo ">> installing the test tools (requirements-test.txt)"
	$(BIN)/python -m pip install -qq -r requirements-test.txt
	@if ! command -v chromium >/dev/null; then \
	  echo ">> installing Debian's chromium for the browser tests (apt-get)"; \
	  $(SUDO) apt-get update -qq && $(SUDO) DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi
	$(install_node)
	$(install_tex)
	$(install_bwrap)
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


test: $(TEST_STAMP)
	@echo ">> fast tests: unit, property, symbolic"
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)
	@echo ">> slow tests: book build, notebooks, Jupyter server, browser, grader"
	$(BIN)/python -m pytest -m slow $(PYTEST_ARGS)

test-fast: $(TEST_STAMP)
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

BENCH_ARGS ?=
bench: $(BOOK_STAMP)
	@echo ">> benchmarks: backward methods, widgets, book build, chapters, symbolic checks (a few minutes)"
	$(BIN)/python bench/run.py $(BENCH_ARGS)

# Instructor kit: otter-grader (requirements-test.txt) turns assignments/masters/*.py into
# student notebooks and autograder zips; regenerated when a master or the lib they use changes.
ASSIGNMENTS_STAMP := assignments/dist/.generated
$(ASSIGNMENTS_STAMP): $(TEST_STAMP) $(wildcard assignments/masters/*.py) assignments/tools/generate.py \
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
grade: $(ASSIGNMENTS_STAMP)
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
