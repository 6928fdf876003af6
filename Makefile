# Two commands do all set-up: `make run` and `make test`.  Both create .venv when missing and
# install once (a stamp file remembers the install until pyproject.toml changes).
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test
# `make run` installs what the bot needs; `make test` adds the test tools and the optional
# IndexTTS-2.5 package (its tests run the package's real code on tiny random-weight models)
# and the scale-out clients (Redis, PostgreSQL: the tests start real servers on loopback).
RUN_EXTRAS := asr,telegram,discord
TEST_EXTRAS := $(RUN_EXTRAS),dev,indextts,scale

.PHONY: run lint test test-fast bench install clean

# The first Python 3.11 found (the wheels the bot needs are built for it), or one line saying what
# to install, before pip runs.
$(BIN)/python:
	@py=$$(for c in $(PY) python3.11 python3 python; do \
	    command -v $$c >/dev/null 2>&1 && $$c -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null \
	    && { echo $$c; break; }; done); \
	if [ -z "$$py" ]; then \
	    echo "Python 3.11 is needed (found: $$(python3 --version 2>&1 || echo none)): install it (apt install python3.11 python3.11-venv, brew install python@3.11, or pyenv install 3.11) or run make PY=/path/to/python3.11" >&2; \
	    exit 2; fi; \
	echo "creating $(VENV) with $$py"; $$py -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	# torch first, pinned: the CPU wheel is on this machine; any other spec pulls CUDA.
	$(BIN)/pip install --disable-pip-version-check -q torch==2.13.0
	$(BIN)/pip install --disable-pip-version-check -q -e '.[$(RUN_EXTRAS)]'
	touch $(STAMP)

$(TEST_STAMP): $(STAMP)
	$(BIN)/pip install --disable-pip-version-check -q -e '.[$(TEST_EXTRAS)]'
	touch $(TEST_STAMP)

install: $(STAMP)

# Starts every adapter whose token is in the environment; with none, the local console chat.
run: $(STAMP)
	$(BIN)/python -m bot

lint: $(TEST_STAMP)
	$(BIN)/ruff check bot indextts_core tests bench
	$(BIN)/mypy bot indextts_core

test: lint
	$(BIN)/python -m pytest -q

# Unit and contract tests only (no model, no cluster): about a minute.
test-fast: lint
	$(BIN)/python -m pytest -q -m "not slow"

bench: $(TEST_STAMP)
	$(BIN)/python bench/core.py

clean:
	rm -rf $(VENV) out .pytest_cache
