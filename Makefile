# Two commands on a fresh machine: `make dev` (the local stack) and `make test` (every test).
# Each target sets up what it needs: the virtual environment comes from pinned requirement files.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
BIN := $(VENV)/bin
# The Lambda runtime is python3.13; use it where the machine has it, else the default python3.
PYTHON313 := $(shell scripts/find-python313)
BASE_PYTHON := $(if $(PYTHON313),$(PYTHON313),$(shell command -v python3))

# Offline AWS: tools need a region and some credentials, never real ones.
export AWS_DEFAULT_REGION ?= eu-central-1
export AWS_ACCESS_KEY_ID ?= testing
export AWS_SECRET_ACCESS_KEY ?= testing
export SAM_CLI_TELEMETRY := 0
export PYTHONDONTWRITEBYTECODE := 1

SANDBOX_PORT ?= 8080

.PHONY: help venv test lint build bench dev sandbox workflow lock clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(BIN)/.installed: requirements/dev.txt layers/minted/requirements.txt
	@if [ -z "$(PYTHON313)" ]; then \
	  echo "NOTE: no Python 3.13 found (the Lambda runtime's version); using $(BASE_PYTHON)." >&2; \
	  echo "      Tests run, but 'make build' needs python3.13 on PATH." >&2; fi
	test -x $(BIN)/python || $(BASE_PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements/dev.txt
	touch $@

venv: $(BIN)/.installed ## create the virtual environment from the pinned requirements

# checkov has pins of its own that clash with cfn-lint's, so it lives in a venv of its own.
CHECKOV_VENV := .venv-checkov
$(CHECKOV_VENV)/.installed: requirements/checkov.txt
	test -x $(CHECKOV_VENV)/bin/python || $(BASE_PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements/checkov.txt
	touch $@

# Node tools for lint (asl-validator), pinned by package-lock.json.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

test: venv node_modules/.installed ## run every test
	$(BIN)/python -m pytest

lint: venv node_modules/.installed $(CHECKOV_VENV)/.installed ## ruff, mypy, cfn-lint, sam validate, asl-validator, checkov
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/mypy functions/*/*_function.py
	$(BIN)/cfn-lint --append-rules cfn_lint_serverless.rules -- template.yaml
	$(BIN)/sam validate --lint
	npx --no-install asl-validator --json-path statemachine/buy.asl.json
	BC_SKIP_MAPPING=TRUE $(CHECKOV_VENV)/bin/checkov --quiet --compact --framework cloudformation -f template.yaml

build: venv ## sam build of everything in the template (arm64)
	@if [ -z "$(PYTHON313)" ]; then echo "make build needs Python 3.13 (the Lambda runtime); none was found" >&2; exit 1; fi
	PATH="$(dir $(PYTHON313)):$$PATH" $(BIN)/sam build

sandbox: venv ## run the Minted sandbox alone (SANDBOX_PORT=8080)
	PYTHONPATH=layers/minted:. $(BIN)/python -m local.minted_sandbox --port $(SANDBOX_PORT)

dev: venv ## the local stack: Minted sandbox and moto_server with the template's tables and secret
	PYTHONPATH=layers/minted:. $(BIN)/python -m local.devstack

# make bench's cold starts run on what Lambda has: the layer's pinned requirements and the runtime's
# boto3, for this machine's platform, bytecode compiled as the layer ships it; nothing from the venv.
BENCH_RUNTIME := .bench/runtime
$(BENCH_RUNTIME)/.installed: layers/minted/requirements.txt requirements/lambda-runtime.txt | venv
	rm -rf $(BENCH_RUNTIME)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps --no-compile --target $(BENCH_RUNTIME) \
		-r layers/minted/requirements.txt -r requirements/lambda-runtime.txt
	$(BASE_PYTHON) -m compileall -q -j 0 --invalidation-mode unchecked-hash $(BENCH_RUNTIME) > /dev/null
	touch $@

bench: venv build $(BENCH_RUNTIME)/.installed ## cold start, warm overhead, round trips and sizes, beside their baselines: docs/performance.md
	PYTHONPATH=layers/minted:. $(BIN)/python -m bench.run --python $(BASE_PYTHON) --site $(BENCH_RUNTIME)

workflow: venv ## follow a local buy workflow to its end: make workflow ID=<external_id>
	@test -n "$(ID)" || { echo "usage: make workflow ID=<external_id>" >&2; exit 2; }
	PYTHONPATH=layers/minted:. $(BIN)/python -m local.workflow $(ID)

lock: ## re-pin requirements/dev.txt from requirements/dev.in in a scratch venv
	rm -rf .lock-venv && $(BASE_PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet --upgrade pip && .lock-venv/bin/pip install --quiet -r requirements/dev.in
	{ echo "# Pinned by 'make lock' from requirements/dev.in; install with 'make venv'."; \
	  .lock-venv/bin/pip freeze --exclude pip --exclude setuptools --exclude wheel; } > requirements/dev.txt
	rm -rf .lock-venv

clean: ## remove the virtual environment and build output
	rm -rf $(VENV) $(CHECKOV_VENV) node_modules .aws-sam .bench .pytest_cache .mypy_cache .ruff_cache
