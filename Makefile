# Ấn Tín: `make demo` runs the platform, `make test` runs every test. Both install what they need.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NODE_STAMP := tests/interop/node_modules/.installed
PEER_DIR := bench/peers/oidc-provider
PEER_STAMP := $(PEER_DIR)/node_modules/.installed

.PHONY: demo test lint typecheck imports unit bench system system-test venv node clean help

help:
	@echo "make demo   run the platform at http://localhost:5000 (installs what it needs)"
	@echo "make test   run every test (installs what it needs)"
	@echo "make lint   ruff, mypy --strict and import-linter only"
	@echo "make bench  run the benchmarks in bench/ and regenerate the results in docs/benchmarks.md"

system:
	@scripts/install-system-packages.sh runtime

system-test:
	@scripts/install-system-packages.sh test

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

$(NODE_STAMP): tests/interop/package.json
	cd tests/interop && npm install --no-audit --no-fund --silent
	@touch $(NODE_STAMP)

# the OIDC bench's peer (npm oidc-provider, pinned by its lock file), installed here so that the tests install nothing
$(PEER_STAMP): $(PEER_DIR)/package.json $(PEER_DIR)/package-lock.json
	cd $(PEER_DIR) && npm ci --no-audit --no-fund --silent
	@touch $(PEER_STAMP)

node: $(if $(wildcard tests/interop/package.json),$(NODE_STAMP)) $(PEER_STAMP)

demo: system venv
	$(BIN)/antin demo

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

test: system-test venv node lint
	CI=$${CI:-true} $(BIN)/pytest -n 2 --dist loadgroup

bench: system-test venv node
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
