# Every target creates and uses .venv itself; only Python 3.11+ and make are needed.
# One stamp per install level: `make demo` installs the runtime only (what the demo needs);
# `make lint` adds the dev tools; `make test` adds the Spark extra too.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.installed-runtime
DEV := $(VENV)/.installed-dev
FULL := $(VENV)/.installed-full

.PHONY: demo test lint bench clean

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

lint: $(DEV)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint $(FULL)
	$(BIN)/pytest -q

# sizes by flag: make bench BENCH_ARGS="--events 1000000"
bench: $(DEV)
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache
