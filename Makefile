# asusual — every target sets itself up: .venv with pinned dependencies, nothing installed by hand.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8787
# make serve DYNAMODB_ENDPOINT=http://127.0.0.1:8000 [TABLE=...]: the table in DynamoDB Local or real DynamoDB
DYNAMODB_ENDPOINT ?=
TABLE ?=
DYNAMODB_PORT ?= 8000
STAMP := $(VENV)/.deps-stamp
PIP := $(BIN)/python -m pip --disable-pip-version-check --quiet
CDK := infra/node_modules/.bin/cdk
NPM_STAMP := infra/node_modules/.installed
# The browser tier (tests/browser): Debian's Chromium, and the SDKs' builds and axe-core from npm
CHROMIUM := /usr/bin/chromium
BROWSER_NPM_STAMP := tests/browser/node_modules/.installed
AS_ROOT := $(if $(filter 0,$(shell id -u)),,sudo)
# The machines here have Node 20; jsii (aws-cdk-lib) warns on every call that it is end-of-life.
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export CDK_DISABLE_VERSION_CHECK := 1

# Test tiers: tests/<tier>, each run alone by `make <tier>` and all together by `make test`.
# A new tier is its directory under tests/ and its name here.
TIERS := unit integration engine infra browser
# xdist workers (auto: one per core), a test module at a time (its module-scoped fixtures are
# built once: the demo run, the audit's simulation). WORKERS=0: in this process, one after another.
# (--dist loadgroup would be finer, but xdist 3.8's groups do nothing under pytest 9.)
WORKERS ?= auto
XDIST := -n $(WORKERS) --dist loadfile

# Deployment parameters (see README): make deploy STAGE=prod REGION=eu-central-1 SENDER_EMAIL=...
STAGE ?= dev
REGION ?=
SENDER_EMAIL ?=
SMS_ORIGINATION ?=
ALARM_EMAIL ?=
DEFAULT_COUNTRY ?=
WEATHER ?=
CDK_CONTEXT := -c stage=$(STAGE) $(if $(REGION),-c region=$(REGION)) \
  $(if $(SENDER_EMAIL),-c sender_email=$(SENDER_EMAIL)) \
  $(if $(SMS_ORIGINATION),-c sms_origination=$(SMS_ORIGINATION)) \
  $(if $(ALARM_EMAIL),-c alarm_email=$(ALARM_EMAIL)) \
  $(if $(DEFAULT_COUNTRY),-c default_country=$(DEFAULT_COUNTRY)) \
  $(if $(WEATHER),-c weather=$(WEATHER))

.PHONY: help venv npm browser-setup test $(TIERS) lint types pytest serve dynamodb-local demo bench openapi build synth deploy destroy lock clean

help:
	@echo "make demo    three weeks of a retailer's channels on the local stack, through the Segment client"
	@echo "make test    everything: lint, types, then every test tier at once (5-10 minutes on 2 cores)"
	@echo "make unit | integration | engine | infra | browser   one tier (WORKERS=auto|N|0, ARGS=... for pytest):"
	@echo "             unit: pure rules; integration: handlers on moto, the local server, the demo;"
	@echo "             engine: on DynamoDB Local; infra: CDK synth + cdk-nag + cfn-lint;"
	@echo "             browser: headless Chromium, the shops' SDKs from another origin (screenshots"
	@echo "             in tests/browser/artifacts/); installs Debian's chromium when missing (apt-get)"
	@echo "make lint    ruff check + format check; make types: mypy"
	@echo "make serve   local API on http://127.0.0.1:$(PORT) (PORT=... overrides) on in-memory AWS"
	@echo "             DYNAMODB_ENDPOINT=http://127.0.0.1:8000 [TABLE=...]: the table in DynamoDB Local or real DynamoDB"
	@echo "make dynamodb-local  Amazon's DynamoDB Local on http://127.0.0.1:$(DYNAMODB_PORT) (DYNAMODB_PORT=...), in memory"
	@echo "make bench   cost, cold start, throughput, dispatcher and sweep figures on DynamoDB Local (bench.json)"
	@echo "make openapi regenerate docs/openapi.json from the code"
	@echo "make build   Lambda code asset and arm64 dependency layer into build/ (no Docker)"
	@echo "make synth   CDK synth + cdk-nag into cdk.out/ (no AWS account needed)"
	@echo "make deploy  bootstrap + deploy: STAGE=dev REGION=... SENDER_EMAIL=... SMS_ORIGINATION=... ALARM_EMAIL=..."
	@echo "make destroy remove the stack of STAGE (prod keeps its table and logs)"
	@echo "make lock    re-pin every dependency into .ci/constraints.txt"

$(STAMP): pyproject.toml .ci/constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "installing pinned dependencies into $(VENV) ..."
	@$(PIP) install -c .ci/constraints.txt -e '.[dev]'
	@touch $@

venv: $(STAMP)

$(NPM_STAMP): infra/package.json infra/package-lock.json
	@echo "installing the CDK command line and DynamoDB Local into infra/node_modules ..."
	@npm ci --prefix infra --no-audit --no-fund --loglevel=error
	@touch $@

npm: $(NPM_STAMP)

$(BROWSER_NPM_STAMP): tests/browser/package.json tests/browser/package-lock.json
	@echo "installing the browser SDKs and axe-core into tests/browser/node_modules ..."
	@npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error
	@touch $@

# Debian's package, when the machine has none (as root, or through sudo); Playwright drives it
# (executable_path), so no browser of Playwright's own is downloaded.
$(CHROMIUM):
	@echo "installing Debian's chromium for the browser tier (apt-get) ..."
	@$(AS_ROOT) env DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
	@$(AS_ROOT) env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null
	@test -x $(CHROMIUM)

browser-setup: $(CHROMIUM) $(BROWSER_NPM_STAMP)

# One pytest over every tier: the workers stay busy across tiers. pytest exits non-zero (5) when it
# runs nothing or a tier named has no test (tests/conftest.py), and make stops on it.
test: lint types npm browser-setup
	$(BIN)/pytest $(XDIST) $(addprefix tests/,$(TIERS)) $(ARGS)

$(TIERS): venv npm
	$(BIN)/pytest $(XDIST) tests/$@ $(ARGS)

browser: browser-setup

lint: venv
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

types: venv
	$(BIN)/mypy

pytest: venv npm browser-setup
	$(BIN)/pytest $(ARGS)

serve: venv
	$(BIN)/python -m asusual.local.serve --port $(PORT) \
	  $(if $(DYNAMODB_ENDPOINT),--dynamodb-endpoint '$(DYNAMODB_ENDPOINT)') $(if $(TABLE),--table '$(TABLE)') $(ARGS)

dynamodb-local: venv npm
	$(BIN)/python -m asusual.local.dynamodb_local --port $(DYNAMODB_PORT)

# The demo prints the story for a person; the handlers' JSON logs and metrics go to a file it names
# at the end (ARGS="--log demo.log" to choose it).
demo: venv
	$(BIN)/python -m asusual.local.demo $(ARGS)

# Figures and targets (docs/performance.md): a table on the terminal and bench.json; fails on a missed target.
bench: venv npm
	$(BIN)/pytest -o addopts="-q -p no:cacheprovider" tests/benchmarks $(ARGS)

openapi: venv
	$(BIN)/python -m asusual.local.openapi > docs/openapi.json

build: venv
	$(BIN)/python -m infra.build code build/code
	$(BIN)/python -m infra.build layer build/layer

synth: venv npm
	$(CDK) synth --quiet $(CDK_CONTEXT)
	@echo "template: cdk.out/asusual-$(STAGE).template.json (cdk-nag report beside it)"

deploy: venv npm
	$(CDK) bootstrap $(CDK_CONTEXT)
	$(CDK) deploy --require-approval never --outputs-file cdk.out/outputs-$(STAGE).json $(CDK_CONTEXT)
	@echo "outputs: cdk.out/outputs-$(STAGE).json (ApiUrl, CreateFirstSource ...)"

destroy: venv npm
	$(CDK) destroy --force $(CDK_CONTEXT)

lock: venv
	$(PIP) freeze --exclude-editable --all | grep -v '^\(pip\|setuptools\|wheel\)==' > .ci/constraints.txt

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .hypothesis cdk.out build infra/node_modules \
	  tests/browser/node_modules tests/browser/artifacts
