# MediaLayer Match — the two commands a newcomer needs: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8080
# Exact versions of every package for the local/test environment (see README, "Dependencies").
LOCK := requirements/lock.txt
PIP_INSTALL := $(PY) -m pip install --quiet --disable-pip-version-check -c $(LOCK)

.PHONY: run test lint setup bench-setup bench-smoke lock clean

# Before anything is installed: refuse a Python older than 3.11 with a clear message, and remove a
# $(VENV) that another interpreter made (it would be reused and keep failing). tools/check_python.py;
# tests/infra/test_make_python.py. Not for `make clean`.
ifneq ($(filter-out clean,$(or $(MAKECMDGOALS),run)),)
ifneq ($(shell $(PYTHON) tools/check_python.py $(VENV) >&2; echo $$?),0)
$(error $(PYTHON) cannot build $(VENV) (see above); nothing was installed)
endif
endif

# Runtime only (what `make run` needs): the package and its dependencies, at the lock's versions.
$(VENV)/.runtime: pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PIP_INSTALL) -e .
	touch $@

# Tests, lint, template validation (extra `dev`). Not the benchmark's transforms/peers (extra `bench`):
# the tests that need those skip when they are absent.
$(VENV)/.dev: $(VENV)/.runtime
	$(PIP_INSTALL) -e '.[dev]'
	touch $@

# The benchmark's transforms, peers and plots (~460 MB more; `python -m bench ...`).
$(VENV)/.bench: $(VENV)/.dev
	$(PIP_INSTALL) -e '.[dev,bench]'
	touch $@

setup: $(VENV)/.dev

bench-setup: $(VENV)/.bench

## Start the whole API locally on http://127.0.0.1:$(PORT) (no AWS account; auth off, logged loudly).
run: $(VENV)/.runtime
	MEDIALAYER_AUTH_DISABLED=$${MEDIALAYER_AUTH_DISABLED:-true} PORT=$(PORT) $(PY) -m medialayer_local

## Run lint, template checks and the test suite (slow benchmarks excluded).
test: setup
	$(PY) -m ruff check .
	SAM_CLI_TELEMETRY=0 $(VENV)/bin/sam validate --lint --region us-east-1
	$(PY) -m pytest -q

## The benchmark's smoke tests (a handful of pairs per medium; part of `make test` too).
bench-smoke: bench-setup
	$(PY) -m pytest tests/bench -q

lint: setup
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

## Regenerate requirements/lock.txt from pyproject.toml (keeps current pins where they still fit;
## `make lock UPGRADE=--upgrade` moves everything to the newest allowed).
UV_VERSION := 0.13.9
lock: setup
	$(PY) -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	$(VENV)/bin/uv pip compile pyproject.toml --all-extras --python-version 3.11 \
		--python-platform x86_64-unknown-linux-gnu --no-header --annotation-style line $(UPGRADE) -o $(LOCK)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .aws-sam
