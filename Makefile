# MediaLayer Match — the two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8080

.PHONY: run test lint setup bench-smoke clean

# Runtime only (what `make run` needs): Python packages from PyPI, nothing else.
$(VENV)/.runtime: requirements/runtime.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements/runtime.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

# Tests, lint, template validation and the benchmark's pure-Python peers.
$(VENV)/.dev: $(VENV)/.runtime requirements/dev.txt
	$(PY) -m pip install --quiet -r requirements/dev.txt
	touch $@

setup: $(VENV)/.dev

## Start the whole API locally on http://127.0.0.1:$(PORT) (no AWS account; auth off, logged loudly).
run: $(VENV)/.runtime
	MEDIALAYER_AUTH_DISABLED=$${MEDIALAYER_AUTH_DISABLED:-true} PORT=$(PORT) $(PY) -m medialayer_local

## Run lint, template checks and the test suite (slow benchmarks excluded).
test: setup
	$(PY) -m ruff check .
	SAM_CLI_TELEMETRY=0 $(VENV)/bin/sam validate --lint --region us-east-1
	$(PY) -m pytest -q

## The benchmark's smoke tests (a handful of pairs per medium; part of `make test` too).
bench-smoke: setup
	$(PY) -m pytest tests/bench -q

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .aws-sam
