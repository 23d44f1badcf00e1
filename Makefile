# Every target creates and uses .venv itself; only Python 3.11+ and make are needed.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

CLIENTS := tests/clients
CLIENTS_STAMP := $(CLIENTS)/node_modules/.installed

.PHONY: demo test lint bench clean clients

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

# the real npm clients the API tests run (installed here, never at test time)
clients: $(CLIENTS_STAMP)

$(CLIENTS_STAMP): $(CLIENTS)/package.json $(CLIENTS)/package-lock.json
	cd $(CLIENTS) && npm ci --no-audit --no-fund --loglevel=error
	touch $(CLIENTS_STAMP)

test: lint clients
	$(BIN)/pytest -q

# sizes by flag: make bench BENCH_ARGS="--events 1000000"
bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache $(CLIENTS)/node_modules
