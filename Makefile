# The two README commands are `make run` and `make test`; everything installs into .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PORT   ?= 3000

.PHONY: install run test lint typecheck check-bank unit bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	PORT=$(PORT) $(BIN)/python -m infra.local.server

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/cfn-lint template.yaml

typecheck: install
	$(BIN)/mypy shared functions infra

check-bank: install
	$(BIN)/python -m infra.bank.check

test: lint typecheck check-bank
	$(BIN)/pytest

bench: install
	$(BIN)/python -m tests.bench.run

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
