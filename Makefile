# Every target creates and uses .venv itself; only Python 3.11+ and make are needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench mutate clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/mql demo

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

test: lint
	$(BIN)/pytest -q

# sizes by flag: make bench BENCH_ARGS="--events 1000000"
bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

# mutation score of the core packages (not part of make test): make mutate PACKAGES="routing"
PACKAGES ?= scoring lifecycle routing identity model
mutate: $(STAMP)
	$(BIN)/python tools/mutate.py $(PACKAGES)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache mutants
