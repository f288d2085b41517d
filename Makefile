# asusual — every target sets itself up: .venv with pinned dependencies, nothing installed by hand.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8787
STAMP := $(VENV)/.deps-stamp
PIP := $(BIN)/python -m pip --disable-pip-version-check --quiet

.PHONY: help venv test lint types pytest serve demo openapi build lock clean

help:
	@echo "make demo    run the local stack and play a story through a real Segment client"
	@echo "make test    lint, types, unit + integration (moto) tests"
	@echo "make serve   local API on http://127.0.0.1:$(PORT) (PORT=... overrides) on in-memory AWS"
	@echo "make openapi regenerate docs/openapi.json from the code"
	@echo "make build   Lambda code asset and arm64 dependency layer into build/ (no Docker)"
	@echo "make lock    re-pin every dependency into .ci/constraints.txt"

$(STAMP): pyproject.toml .ci/constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing pinned dependencies into $(VENV) ..."
	@$(PIP) install -c .ci/constraints.txt -e '.[dev]'
	@touch $@

venv: $(STAMP)

test: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/pytest

lint: venv
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

types: venv
	$(BIN)/mypy

pytest: venv
	$(BIN)/pytest $(ARGS)

serve: venv
	$(BIN)/python -m asusual.local.serve --port $(PORT) $(ARGS)

# The demo prints a story for a person; the handlers' JSON logs and metrics stay quiet here.
demo: venv
	POWERTOOLS_METRICS_DISABLED=true POWERTOOLS_LOG_LEVEL=ERROR $(BIN)/python -m asusual.local.demo

openapi: venv
	$(BIN)/python -m asusual.local.openapi > docs/openapi.json

build: venv
	$(BIN)/python -m infra.build code build/code
	$(BIN)/python -m infra.build layer build/layer

lock: venv
	$(PIP) freeze --exclude-editable --all | grep -v '^\(pip\|setuptools\|wheel\)==' > .ci/constraints.txt

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .hypothesis cdk.out
