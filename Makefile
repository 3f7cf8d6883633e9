# The two README commands are `make run` and `make test`; everything installs into .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PORT   ?= 3000

.PHONY: install run test lint typecheck check-bank browser bench simulate fuzz load clean

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	PORT=$(PORT) $(BIN)/python -m infra.local.server

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/cfn-lint template.yaml
	$(BIN)/bandit -q -r shared functions infra

typecheck: install
	$(BIN)/mypy shared functions infra

check-bank: install
	$(BIN)/python -m infra.bank.check

# Debian's Chromium for the embed's browser test (Playwright drives it; no browser download).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing Debian's chromium for the browser tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium not found: the browser tests will be skipped (apt-get install chromium)"; fi; }

test: lint typecheck check-bank browser
	$(BIN)/pytest

bench: install
	$(BIN)/python -m tests.bench.run

simulate: install
	$(BIN)/python -m infra.sim.simulate

fuzz: install
	$(BIN)/python -m tests.fuzz.run

# Bounded load on a local server of its own (127.0.0.1), then an audit of the store; reports/load.json.
load: install
	$(BIN)/python -m tests.load.run

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
