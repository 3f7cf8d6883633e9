# The two README commands are `make run` and `make test`; everything installs into .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PORT   ?= 3000

.PHONY: install run test lint typecheck check-bank browser bench simulate fuzz load package clean

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

# aws-sam-cli in a venv of its own: its exact pins (click, boto3, pydantic) conflict with requirements.lock.
SAM_VENV := .venv-sam
SAM_STAMP := $(SAM_VENV)/.installed-stamp
$(SAM_STAMP): requirements-sam.lock
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(SAM_VENV)/bin/python -m pip install --quiet -r requirements-sam.lock
	touch $(SAM_STAMP)

# sam validate --lint, sam build without a container (for this machine's Python and architecture), then every
# built handler imported with its layer laid out as in Lambda. No Docker, no AWS account.
package: install $(SAM_STAMP)
	SAM=$(SAM_VENV)/bin/sam $(BIN)/python -m infra.package_check

clean:
	rm -rf $(VENV) $(SAM_VENV) .aws-sam .pytest_cache .mypy_cache .ruff_cache
