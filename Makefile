# Two commands do all set-up: `make run` and `make test`.  Both create .venv when missing and
# install once (a stamp file remembers the install until pyproject.toml changes).
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test bench install clean

$(BIN)/python:
	$(PY) -m venv $(VENV) || python3 -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	# torch first, pinned: the CPU wheel is on this machine; any other spec pulls CUDA.
	$(BIN)/pip install --disable-pip-version-check -q torch==2.13.0
	$(BIN)/pip install --disable-pip-version-check -q -e '.[dev,asr,kokoro,telegram,discord]'
	touch $(STAMP)

install: $(STAMP)

# Starts every adapter whose token is in the environment; with none, the local console chat.
run: $(STAMP)
	$(BIN)/python -m bot

test: $(STAMP)
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/python bench/core.py

clean:
	rm -rf $(VENV) out .pytest_cache
