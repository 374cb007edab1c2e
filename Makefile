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
GATEWAY_PORT ?= 3000
MOTO_PORT ?= 5000
# Progress on a first run, which installs for a minute or two: one line per step.
say = @printf '\033[1m==> %s\033[0m\n' $(1)

.PHONY: help venv test lint build bench dev sandbox token workflow reconcile plans-tick credentials api-docs lock clean mutate

help: ## list the targets
	@echo "Minted Connect partner gateway: a partner API (prices, quotes, orders and card buys, the buy workflow,"
	@echo "deliveries, conditional orders and price alerts, savings plans, customers, legal)"
	@echo "in front of Minted Connect. Targets:"
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-11s %s\n", $$1, $$2}'
	@echo "make dev serves:"
	@echo "  partner API     http://127.0.0.1:$(GATEWAY_PORT)  GET /prices, POST /quotes, POST /orders, GET /orders,"
	@echo "                  GET /orders/{external_id}, POST /orders/workflow, POST /deliveries, /orders/conditional...,"
	@echo "                  /alerts..., /plans..., /customers..., GET /legal, GET /legal/{document_type};"
	@echo "                  /openapi.json, /swagger (docs/api.md lists every route)"
	@echo "  Minted sandbox  http://127.0.0.1:$(SANDBOX_PORT)  Digest user partner / sandbox-password; control API /_sandbox/"
	@echo "  moto_server     http://127.0.0.1:$(MOTO_PORT)  tables OrdersTable, PricesTable, LimitsTable, TriggersTable,"
	@echo "                  PlansTable, WorkflowCustomersTable (a buy workflow's customer, seconds); secrets PartnerSecret (Minted"
	@echo "                  credentials) and LedgerKeySecret (the ledger's HMAC key for identity numbers)"
	@echo "  every route takes a JWT with its scope (minted/prices.read, minted/orders.read, minted/orders.write,"
	@echo "                  minted/customers.read, minted/customers.write, minted/plans.read, minted/plans.write):"
	@echo "                  TOKEN=\$$(make token SCOPES=\"...\"), then"
	@echo "                  curl -H \"Authorization: Bearer \$$TOKEN\" ... (CUSTOMER=... binds it to one customer)"
	@echo "Ports: GATEWAY_PORT, SANDBOX_PORT, MOTO_PORT (each make dev records its own in .dev/stacks/ for make workflow)."

$(BIN)/.installed: requirements/dev.txt layers/minted/requirements.txt
	@if [ -z "$(PYTHON313)" ]; then \
	  echo "NOTE: no Python 3.13 found (the Lambda runtime's version); using $(BASE_PYTHON)." >&2; \
	  echo "      Tests run, but 'make build' needs python3.13 on PATH." >&2; fi
	$(call say,"Python: creating the virtual environment $(VENV) (first run only)")
	test -x $(BIN)/python || $(BASE_PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(call say,"Python: installing the pinned requirements/dev.txt (about two minutes on a first run)")
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements/dev.txt
	touch $@
	$(call say,"Python: ready")

venv: $(BIN)/.installed ## create the virtual environment from the pinned requirements

# checkov has pins of its own that clash with cfn-lint's, so it lives in a venv of its own.
CHECKOV_VENV := .venv-checkov
$(CHECKOV_VENV)/.installed: requirements/checkov.txt
	$(call say,"checkov: installing it in a virtual environment of its own (first run only)")
	test -x $(CHECKOV_VENV)/bin/python || $(BASE_PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --disable-pip-version-check -r requirements/checkov.txt
	touch $@

# npm packages, pinned by package-lock.json: asl-validator (lint), dynalite (tests), swagger-ui-dist (/swagger).
node_modules/.installed: package.json package-lock.json
	$(call say,"npm: installing the pinned packages of package-lock.json (npm ci)")
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

test: venv node_modules/.installed ## run every test
	$(call say,"pytest: every test; servers start on free loopback ports (about 20 minutes on two cores)")
	$(BIN)/python -m pytest

# Not in CI: slow. A run stops after MUTATE_BUDGET seconds (default 2400); the next one goes on from there.
mutate: venv node_modules/.installed ## mutation testing (cosmic-ray) of the modules that keep the promises: docs/mutation.md
	$(call say,"mutate: cosmic-ray over the promise-keeping modules (at most $${MUTATE_BUDGET:-2400} s; scripts/mutate.py)")
	$(BIN)/python scripts/mutate.py

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

sandbox: venv ## run the Minted sandbox alone (on SANDBOX_PORT, default 8080)
	PYTHONPATH=layers/minted:. $(BIN)/python -m local.minted_sandbox --port $(SANDBOX_PORT)

dev: venv node_modules/.installed ## the partner API, the Minted sandbox and moto_server, in memory (ports below)
	$(call say,"make dev: starting the local stack")
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

bench: venv build $(BENCH_RUNTIME)/.installed ## cold start, warm overhead, round trips and sizes, beside their baselines, and 1,000 plan runs beside the sandbox's own throughput: docs/performance.md
	PYTHONPATH=layers/minted:. $(BIN)/python -m bench.run --python $(BASE_PYTHON) --site $(BENCH_RUNTIME) \
		$(if $(BENCH_PORTS),--ports $(BENCH_PORTS)) $(if $(ONLY),--only "$(ONLY)" --runs $(or $(RUNS),5))
	$(if $(ONLY),,PYTHONPATH=layers/minted:. $(BIN)/python -m bench.plans --plans $(or $(BENCH_PLANS),1000) --concurrency 5)

token: venv ## print a token for the running make dev: make token SCOPES="minted/orders.write ..." [CUSTOMER=cust-0001] [TTL=3600]
	@PYTHONPATH=layers/minted:. $(BIN)/python -m local.make_token --scopes '$(SCOPES)' $(if $(CUSTOMER),--customer '$(CUSTOMER)') \
		$(if $(TTL),--ttl '$(TTL)')

# ID reaches the command through the environment, never pasted into the shell line: ID="it's" works.
workflow: export ID := $(value ID)
workflow: venv ## follow a buy workflow on the running make dev to its end: make workflow ID=<external_id>
	@test -n "$$ID" || { echo "usage: make workflow ID=<external_id>" >&2; exit 2; }
	@PYTHONPATH=layers/minted:. $(BIN)/python -m local.workflow "$$ID"

reconcile: venv ## one reconciler run now on the running make dev (ACTION=compare_with_minted: the daily comparison; ACTION=follow_orders: the follow refresh)
	@PYTHONPATH=layers/minted:. $(BIN)/python -m local.reconcile $(ACTION)

plans-tick: venv ## the plans' schedule now on the sandbox's clock (PLAN=id: move the clock to that plan's next run, run it, print it)
	@PYTHONPATH=layers/minted:. $(BIN)/python -m local.plans_tick $(PLAN)

credentials: venv ## put Minted's username and password into a stage's secret from a prompt: make credentials [STAGE=dev|prod] [ROLLBACK=1]
	@PYTHONPATH=layers/minted:. $(BIN)/python -m local.credentials --stage $(or $(STAGE),local) $(if $(ROLLBACK),--rollback)

api-docs: venv ## rewrite docs/api.md's route table from the OpenAPI document
	PYTHONPATH=layers/minted:. $(BIN)/python -m local.api_docs --write

lock: ## re-pin requirements/dev.txt from requirements/dev.in in a scratch venv
	rm -rf .lock-venv && $(BASE_PYTHON) -m venv .lock-venv
	.lock-venv/bin/pip install --quiet --upgrade pip && .lock-venv/bin/pip install --quiet -r requirements/dev.in
	{ echo "# Pinned by 'make lock' from requirements/dev.in; install with 'make venv'."; \
	  .lock-venv/bin/pip freeze --exclude pip --exclude setuptools --exclude wheel; } > requirements/dev.txt
	rm -rf .lock-venv

clean: ## remove the virtual environment and build output
	rm -rf $(VENV) $(CHECKOV_VENV) node_modules .aws-sam .bench .mutate .pytest_cache .mypy_cache .ruff_cache
