# Every target installs what it needs itself: a fresh clone runs `make run` or `make test` directly.
SHELL := /bin/bash
# Lambda runs Python 3.13, so the venv (the Lambda code, its tests and the tools) does too. It is
# found, never downloaded: on PATH, else under pyenv (installed on these machines).
# (pyenv's shim on PATH answers only when 3.13 is selected, so each candidate is tried.)
PYTHON ?= $(shell for candidate in $$(type -ap python3.13) $$(ls -d $${PYENV_ROOT:-$$HOME/.pyenv}/versions/3.13*/bin/python3.13 2>/dev/null | sort -Vr); do "$$candidate" -c '' 2>/dev/null && echo "$$candidate" && break; done)
VENV := .venv
PY := $(VENV)/bin/python
export PYTHONPATH := $(CURDIR)/functions:$(CURDIR)
export CDK_DISABLE_VERSION_CHECK := 1
export CDK_DISABLE_CLI_TELEMETRY := 1
export AWS_EC2_METADATA_DISABLED := true
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20

.PHONY: install run test lint openapi synth deploy bench fuzz clean chromium migrate console screenshots
STAGE ?= dev

$(VENV)/.installed: requirements.txt requirements-dev.txt cli/pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.13 (Lambda's runtime) not found: on PATH or under pyenv" >&2; exit 1; }
	@$(VENV)/bin/python -c 'import sys; sys.exit(sys.version_info[:2] != (3, 13))' 2>/dev/null || rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(VENV)/bin/pip install --quiet --disable-pip-version-check --no-deps -e cli
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The operator console (console/, docs/decisions.md): its own npm packages from its own lock, its
# API types generated from the OpenAPI document (so a contract change fails this build), then the
# bundle in console/dist, which the local server and the stack serve at /console/.
OPENAPI_JSON := functions/registry/openapi.json
CONSOLE_SOURCES := $(shell find console/src console/index.html console/vite.config.ts console/tsconfig.json -type f ! -name api-types.ts 2>/dev/null)

console/node_modules/.installed: console/package.json console/package-lock.json
	cd console && npm ci --no-audit --no-fund --loglevel=error
	touch $@

console/dist/index.html: console/node_modules/.installed $(OPENAPI_JSON) $(CONSOLE_SOURCES)
	cd console && OPENAPI_JSON=$(CURDIR)/$(OPENAPI_JSON) npm run --silent build && npm run --silent size

console: console/dist/index.html  ## the operator console's bundle (console/dist), and its gzipped size

# docs/img/console-*.png for the README: the console in Chromium over a freshly seeded local server.
screenshots: install console chromium
	$(PY) console/scripts/with_server.py node console/scripts/screenshots.mjs

# checkov pins dozens of dependencies that clash with ours, so it gets a venv of its own;
# tests/infra/test_checkov.py runs it on the synthesized templates.
CHECKOV_VENV := .venv-tools/checkov

$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	@test -n "$(PYTHON)" || { echo "Python 3.13 not found: on PATH or under pyenv" >&2; exit 1; }
	rm -rf $(CHECKOV_VENV)
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check -r requirements-checkov.txt
	touch $@

# Headless Chromium for the Swagger UI test: Debian's package, installed only where it is missing.
chromium:
	@test -x /usr/bin/chromium || { log=$$(mktemp); { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	  apt-get install -y -qq --no-install-recommends chromium; } >$$log 2>&1 || { cat $$log >&2; exit 1; }; rm -f $$log; }

install: $(VENV)/.installed

# `make run` keeps its data here (git-ignored); `make run FRESH=1` starts with an empty registry.
LOCAL_DATA_DIR ?= .local-data
run: install console  ## the API on http://127.0.0.1:3000 over an embedded DynamoDB, its data kept in LOCAL_DATA_DIR
	$(if $(FRESH),rm -rf $(LOCAL_DATA_DIR))
	LOCAL_DATA_DIR=$(LOCAL_DATA_DIR) $(PY) -m local.server

# Under `make run` the embedded DynamoDB listens on this port, so that `make migrate` (another
# process) reaches the local server's data; elsewhere (the tests) it takes a free port.
DYNAMODB_PORT ?= 3001
run: export DYNAMODB_PORT := $(DYNAMODB_PORT)

# Any endpoint and table: make migrate ENDPOINT=http://host:8000 TABLE=name MIGRATE_ARGS=--list
ENDPOINT ?= $(or $(AWS_ENDPOINT_URL_DYNAMODB),http://127.0.0.1:$(DYNAMODB_PORT))
TABLE ?= $(shell $(PY) -c 'from local.server import TABLE_NAME; print(TABLE_NAME)')
migrate: install  ## pending schema migrations on the running `make run`'s data (MIGRATE_ARGS: --list, --dry-run, --rate N)
	AWS_ACCESS_KEY_ID=$${AWS_ACCESS_KEY_ID:-local} AWS_SECRET_ACCESS_KEY=$${AWS_SECRET_ACCESS_KEY:-local} \
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} \
	$(PY) -m registry.migrations --endpoint $(ENDPOINT) --table $(TABLE) $(MIGRATE_ARGS)

openapi: install  ## regenerate the committed OpenAPI document from the handlers
	$(PY) -m registry.openapi > functions/registry/openapi.json

synth: install node_modules/.installed console  ## cdk synth, offline, no credentials (STAGE=dev|prod)
	npx cdk synth --quiet -c stage=$(STAGE)

deploy: synth  ## needs AWS credentials and `npx cdk bootstrap` once per account/region
	npx cdk deploy -c stage=$(STAGE) --outputs-file cdk-outputs.json

test: lint node_modules/.installed chromium console $(CHECKOV_VENV)/.installed  ## ruff + mypy, then every test (unit, integration, reliability, infra with checkov, Swagger UI and the console in Chromium)
	$(PY) -m pytest -q

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

FUZZ_EXAMPLES ?= 1000
fuzz: install  ## long contract fuzz: schemathesis, every check, against the local server, FUZZ_EXAMPLES per operation (~6 min at 1000)
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest -q tests/reliability/test_contract_fuzz.py

bench: install node_modules/.installed  ## docs/cost.md's units and bills checked against the code, then the benchmarks (docs/performance.md)
	$(PY) -m pytest -q tests/integration/test_dynamodb_cost.py -k units_per_device
	$(PY) -m benchmarks.bill --check
	$(PY) -m benchmarks
	$(PY) -m benchmarks.bulk_import

clean:
	rm -rf $(VENV) .venv-tools build node_modules console/node_modules console/dist cdk.out .pytest_cache .mypy_cache .ruff_cache
