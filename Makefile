# Every target creates and uses .venv itself; only Python 3.11+ and make are needed.
# One stamp per install level: `make demo` installs the runtime only (what the demo needs);
# `make lint` and `make test` add the dev tools and the Spark extra (mypy checks
# mql.batch.spark against pyspark's own types).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.installed-runtime
DEV := $(VENV)/.installed-dev
FULL := $(VENV)/.installed-full

CLIENTS := tests/clients
CLIENTS_STAMP := $(CLIENTS)/node_modules/.installed

.PHONY: demo test lint bench mutate clean clients

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(RUNTIME): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $(RUNTIME)

$(DEV): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(RUNTIME) $(DEV)

$(FULL): $(DEV)
	$(BIN)/pip install --quiet -e '.[dev,spark]'
	touch $(FULL)

demo: $(RUNTIME)
	$(BIN)/mql demo

lint: $(FULL)
	$(BIN)/ruff check src tests bench tools
	$(BIN)/mypy
	$(BIN)/lint-imports

# the real npm clients the API tests run (installed here, never at test time)
clients: $(CLIENTS_STAMP)

$(CLIENTS_STAMP): $(CLIENTS)/package.json $(CLIENTS)/package-lock.json
	cd $(CLIENTS) && npm ci --no-audit --no-fund --loglevel=error
	touch $(CLIENTS_STAMP)

test: lint clients $(FULL)
	$(BIN)/pytest -q

# sizes by flag: make bench BENCH_ARGS="--events 1000000"
bench: $(DEV)
	$(BIN)/python -m bench $(BENCH_ARGS)

# mutation score of the core packages (not part of make test), one package at a time:
# make mutate PACKAGE=scoring, make mutate PACKAGES="routing identity" MUTATE_ARGS=--fresh
PACKAGES ?= scoring lifecycle routing identity model analytics learning accounts compliance attribution nurture
MUTATE_ARGS ?= --children 2
mutate: $(DEV)
	$(BIN)/python tools/mutate.py $(or $(PACKAGE),$(PACKAGES)) $(MUTATE_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache $(CLIENTS)/node_modules mutants .mutate
