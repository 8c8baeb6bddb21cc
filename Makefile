# Entry points (see README): `make run` starts the main job, `make test` runs every test, `make check`
# runs the static checks (lint, format, layer contracts, types), each named when it fails.
# Both create .venv on first use and install the package with its pinned dependencies into it.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.bench-installed

.PHONY: run test check bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,thunderline,web]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/python run.py

test: $(STAMP)
	$(BIN)/python -m pytest

# Each check runs even when an earlier one failed; the summary names the ones that failed.
check: $(STAMP)
	@failed=""; \
	echo "== ruff check"; $(BIN)/ruff check . || failed="$$failed ruff"; \
	echo "== ruff format --check"; $(BIN)/ruff format --check . || failed="$$failed ruff-format"; \
	echo "== lint-imports (layer contracts in pyproject.toml)"; $(BIN)/lint-imports --no-cache || failed="$$failed lint-imports"; \
	echo "== mypy"; $(BIN)/mypy || failed="$$failed mypy"; \
	if [ -n "$$failed" ]; then echo "check FAILED:$$failed"; exit 1; fi; \
	echo "check passed: ruff, ruff format, lint-imports, mypy"

# The benchmarks also measure DBOS (the optional `bench` extra).
$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[dev,thunderline,bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	for f in bench/bench_*.py; do echo "== $$f"; $(BIN)/python $$f || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info
