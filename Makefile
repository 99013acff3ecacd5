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

.PHONY: prefetch install run test test-future faketime lint openapi synth deploy bench fuzz clean chromium migrate preflight smoke console screenshots
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

# Under `make run` the embedded DynamoDB listens on PORT + 1 (3001 by default), so that
# `make migrate` (another process) reaches the local server's data and a second `make run PORT=3400`
# beside the first takes 3401; elsewhere (the tests) it takes a free port.
PORT ?= 3000
DYNAMODB_PORT ?= $(shell echo $$(( $(PORT) + 1 )))
run: export DYNAMODB_PORT := $(DYNAMODB_PORT)
run: export PORT := $(PORT)

# Any endpoint and table: make migrate ENDPOINT=http://host:8000 TABLE=name MIGRATE_ARGS=--list
ENDPOINT ?= $(or $(AWS_ENDPOINT_URL_DYNAMODB),http://127.0.0.1:$(DYNAMODB_PORT))
TABLE ?= $(shell $(PY) -c 'from local.server import TABLE_NAME; print(TABLE_NAME)')
migrate: install  ## pending schema migrations on the running `make run`'s data (MIGRATE_ARGS: --list, --dry-run, --rate N)
	AWS_ACCESS_KEY_ID=$${AWS_ACCESS_KEY_ID:-local} AWS_SECRET_ACCESS_KEY=$${AWS_SECRET_ACCESS_KEY:-local} \
	AWS_DEFAULT_REGION=$${AWS_DEFAULT_REGION:-us-east-1} \
	$(PY) -m registry.storage.migrations --endpoint $(ENDPOINT) --table $(TABLE) $(MIGRATE_ARGS)

openapi: install  ## regenerate the committed OpenAPI document from the handlers
	$(PY) -m registry.openapi > functions/registry/openapi.json

synth: install node_modules/.installed console  ## cdk synth, offline, no credentials (STAGE=dev|prod)
	npx cdk synth --quiet -c stage=$(STAGE)

deploy: synth  ## needs AWS credentials and `npx cdk bootstrap` once per account/region
	npx cdk deploy -c stage=$(STAGE) --outputs-file cdk-outputs.json

# Before a deploy, with the deploying credentials and region (AWS_PROFILE, AWS_REGION): what in
# the account would make it fail. It synthesizes the stage with the deployment settings the deploy
# will get (SETTINGS="-c domain_name=… -c certificate_arn=…") and checks that template.
SETTINGS ?=
preflight: install node_modules/.installed  ## what in the AWS account would fail `cdk deploy` (STAGE=dev|prod, SETTINGS="-c …"); exit 1 if anything would
	npx cdk synth --quiet -c stage=$(STAGE) $(SETTINGS)
	$(PY) -m ops.preflight cdk.out/DeviceRegistry-$(STAGE).template.json

# After a deploy: the stage proven through its public API (credentials as the `registry` command
# takes them, REGISTRY_CLIENT_ID/…; docs/deployment.md, "First deploy"). SMOKE_ARGS: --origin …,
# --events-queue …, --events-file … (ops/smoke.py --help).
smoke: install  ## the stage's public API proven end to end, all it creates deleted: make smoke URL=<ApiUrl> (or http://127.0.0.1:3000 for `make run`)
	@test -n "$(URL)" || { echo "make smoke URL=<the stack output ApiUrl, or http://127.0.0.1:3000 for make run>" >&2; exit 2; }
	$(PY) -m ops.smoke $(URL) $(SMOKE_ARGS)

# `make test` makes what the tests need with the independent installs at once (the two venvs'
# pip, npm and apt overlap their downloads and builds), lints, then runs the suite on every core
# (pytest-xdist; tests/conftest.py says which tests one worker runs together). The groups are
# handed out in collection order, not largest first: the synthesized app's tests (the longest
# group) start at once, and the unit tests' many short files come last and even out the end.
TEST_SETUP := lint node_modules/.installed chromium console $(CHECKOV_VENV)/.installed prefetch
TEST_WORKERS ?= auto
# More pytest options, e.g. `make test PYTEST_ARGS=--durations=40`
PYTEST_ARGS ?=
test:  ## ruff + mypy, then every test (unit, integration, reliability, infra with checkov, Swagger UI in Chromium)
	@$(MAKE) --no-print-directory --jobs=4 --output-sync=target $(TEST_SETUP)
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder $(PYTEST_ARGS)

# What the infra tests read from PyPI (the functions' layer for Lambda's platform and for this
# machine's, the runtime's boto3), fetched before any test: under `make test-future` the clock
# is years ahead and PyPI's TLS certificate reads as expired. Built once per lock file (build/).
prefetch: install
	@$(PY) -m tests.infra.prefetch

lint: install  ## ruff, mypy and the import contracts (pyproject.toml [tool.importlinter])
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports  # the import rules between packages (docs/architecture.md)

# The whole suite on a shifted calendar (docs/reliability.md, "Any date"): FUTURE=+3650d for ten
# years. Only the wall clock moves (FAKETIME_DONT_FAKE_MONOTONIC: with a faked monotonic clock a
# timed wait never returns), and tests/faketime/sitecustomize.py gives every Python process a
# time.sleep that libfaketime leaves alone. TEST_DIR narrows it to one directory.
FUTURE ?= +365d
TEST_DIR ?=
faketime:
	@command -v faketime >/dev/null || { log=$$(mktemp); { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
	  apt-get install -y -qq --no-install-recommends faketime; } >$$log 2>&1 || { cat $$log >&2; exit 1; }; rm -f $$log; }

test-future: faketime  ## the whole suite under faketime FUTURE ahead (default +365d; libfaketime's limits: docs/reliability.md)
	@$(MAKE) --no-print-directory --jobs=4 --output-sync=target $(TEST_SETUP)
	FAKETIME_DONT_FAKE_MONOTONIC=1 PYTHONPATH=$(CURDIR)/tests/faketime:$(PYTHONPATH) \
	  nice -n 10 faketime -f '$(FUTURE)' $(PY) -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) \
	  --dist loadgroup --no-loadscope-reorder $(PYTEST_ARGS) $(TEST_DIR)

FUZZ_EXAMPLES ?= 1000
fuzz: install  ## long contract fuzz: schemathesis, every check, against the local server, FUZZ_EXAMPLES per operation (~6 min at 1000)
	FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(PY) -m pytest -q tests/reliability/test_contract_fuzz.py

bench: install node_modules/.installed  ## docs/cost.md's units and bills checked against the code, then the benchmarks (docs/performance.md)
	$(PY) -m pytest -q tests/integration/test_dynamodb_cost.py -k units_per_device
	$(PY) -m benchmarks.bill --check
	$(PY) -m benchmarks
	$(PY) -m benchmarks.bulk_import
	$(PY) -m benchmarks.fleet_reads
	$(PY) -m benchmarks.fleet_size
	$(PY) -m benchmarks.sweep

clean:
	rm -rf $(VENV) .venv-tools build node_modules console/node_modules console/dist cdk.out .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
