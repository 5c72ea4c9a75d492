# The project's front door. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
BROKER_PORT ?= 9092
FUNCTION ?= RssProducerFunction
EVENT ?= events/schedule.json
ENV_VARS ?=
TOPIC ?= rss.items
N ?= 20
PYTEST_ARGS ?=

# sam runs the build Makefiles with this PATH, so they use the project's pip.
export PATH := $(CURDIR)/$(BIN):$(PATH)
export BROKER_PORT

.PHONY: help venv test test-unit check lint format run demo invoke broker broker-stop tail build deploy validate bench clean docs docs-reference
.PHONY: registry-install registry registry-stop register-schemas
.PHONY: kafka kafka-stop kafka-dist
.PHONY: localstack-venv deploy-local deploy-local-delete localstack-stop test-setup test-setup-jvm

help: ## This list
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(BIN)/.installed: requirements-dev.txt layers/kafka_deps/requirements.txt layers/schema_registry/requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(BIN)/.installed ## Create .venv with every development dependency

# The heavy one-time setups, side by side: the .venv chain (then Kafka and the registry, one mvn
# after the other), LocalStack's and Airflow's own environments. Each is a no-op once done.
test-setup:
	@$(MAKE) --no-print-directory -j3 test-setup-jvm localstack-venv airflow-venv

test-setup-jvm: venv
	@$(MAKE) --no-print-directory kafka-dist
	@$(MAKE) --no-print-directory registry-install

test: test-setup ## The whole suite: unit, integration (embedded broker), Apache Kafka, registry, deploy (LocalStack), Airflow, template, docs
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-unit: venv ## Unit tests only (no broker, no sam)
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

check: venv ## Lint and the unit tier: the quick gate before a commit (under a minute)
	@$(MAKE) --no-print-directory lint
	$(BIN)/python -m pytest tests/unit -q $(PYTEST_ARGS)

lint: venv ## ruff (lint and format check) and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy layers/common/python/producer_common functions/rss_producer functions/polymarket_producer tools lambda_build

format: venv ## Apply ruff's formatting and safe fixes
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

run: venv ## Both producers once against their live sources (embedded broker unless KAFKA_BOOTSTRAP_SERVERS)
	$(BIN)/python -m tools.local.demo --live

demo: venv ## Both producers once against recorded fixtures served locally
	$(BIN)/python -m tools.local.demo

invoke: venv ## Docker-free `sam local invoke`: FUNCTION=<LogicalId> EVENT=<file> [ENV_VARS=<file>] [REPEAT=N warm]
	@STATE_PATH="$${STATE_PATH:-$(CURDIR)/.run/state.sqlite}" $(BIN)/python tools/local/invoke.py $(FUNCTION) --event $(EVENT) $(if $(ENV_VARS),--env-vars $(ENV_VARS)) $(if $(REPEAT),--repeat $(REPEAT))

broker: venv ## Start the embedded broker on 127.0.0.1:$(BROKER_PORT)
	$(BIN)/python -m tools.services.broker start --port $(BROKER_PORT)

broker-stop: ## Stop the embedded broker
	$(BIN)/python -m tools.services.broker stop

# The schema registry (tools/services/registry.py): Apicurio Registry from Maven Central, cached in ~/.cache/kafka-producers.
REGISTRY_PORT ?=
REGISTRY_JAR := $(or $(KAFKA_PRODUCERS_CACHE),$(HOME)/.cache/kafka-producers)/apicurio-registry-3.3.3/quarkus-run.jar

$(REGISTRY_JAR): | venv
	$(BIN)/python -m tools.services.registry install

registry-install: $(REGISTRY_JAR) ## Fetch Apicurio Registry once (mvn) into the cache

registry: venv $(REGISTRY_JAR) ## A schema registry on loopback (free port unless REGISTRY_PORT); writes .run/registry.json
	$(BIN)/python -m tools.services.registry start $(if $(REGISTRY_PORT),--port $(REGISTRY_PORT))

registry-stop: ## Stop the schema registry
	$(BIN)/python -m tools.services.registry stop

register-schemas: venv ## Register schemas/ (FORMAT=avro|json_schema, TOPICS="rss_item=rss.items ...") in SCHEMA_REGISTRY_URL, else make registry's
	$(BIN)/python -m tools.services.registry register $(if $(FORMAT),--format $(FORMAT)) $(foreach pair,$(TOPICS),--topic $(pair))

tail: venv ## Last N messages of TOPIC, one JSON line each
	@$(BIN)/python -m tools.services.broker tail $(TOPIC) -n $(N)

# Apache Kafka (tools/services/kafka.py): the jars are fetched once with mvn into ~/.cache/kafka-producers
# (its .complete stamp makes kafka-dist a no-op afterwards); needs java 17+ and mvn.
kafka-dist: venv ## Fetch the pinned Apache Kafka with mvn (once; reused from ~/.cache)
	@$(BIN)/python -m tools.services.kafka fetch >/dev/null

kafka: kafka-dist ## Real Apache Kafka on loopback (PLAINTEXT, SSL, SASL_SSL); writes .run/kafka.json
	@$(BIN)/python -m tools.services.kafka start

kafka-stop: ## Stop the Apache Kafka `make kafka` started
	@$(BIN)/python -m tools.services.kafka stop

build: venv ## sam build (functions and layers for python3.12 on Lambda)
	$(BIN)/sam build

deploy: build ## sam deploy (add --guided the first time: make deploy DEPLOY_ARGS=--guided)
	$(BIN)/sam deploy $(DEPLOY_ARGS)

validate: venv ## sam validate --lint and cfn-lint
	$(BIN)/sam validate --lint
	$(BIN)/cfn-lint template.yaml

bench: venv ## The benchmark suite on the embedded broker (ONLY=K,C for some groups); writes docs/performance/figures.md
	$(BIN)/python -m tools.bench.suite $(if $(ONLY),--only $(ONLY))

docs-reference: venv ## Regenerate docs/configuration.md's reference from template.yaml and the settings modules
	$(BIN)/python -m tools.docs.configuration

docs: docs-reference ## The manual (mkdocs-material), built with --strict into site/
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir site

# --- Running it locally (issue 16): schedules, a Lambda endpoint --------------------------------
LAMBDA_PORT ?= 3001
SPEEDUP ?= 1
PARAMETER_OVERRIDES ?=
export PARAMETER_OVERRIDES  # read by the shell, quotes intact: PARAMETER_OVERRIDES="RssSchedule='rate(1 hour)'"
.PHONY: up start-lambda airflow-venv

up: venv ## Both producers on the template's schedules with a live view (SPEEDUP=N, LIVE=1, PARAMETER_OVERRIDES=...)
	@$(BIN)/python -m tools.local.up --speedup $(SPEEDUP) $(if $(filter 1 true yes,$(LIVE)),--live) \
		$(if $(ENV_VARS),--env-vars $(ENV_VARS)) $(if $(PARAMETER_OVERRIDES),--parameter-overrides "$$PARAMETER_OVERRIDES")

start-lambda: venv ## The Lambda Invoke API for the template's functions on 127.0.0.1:LAMBDA_PORT (3001), Docker-free
	@STATE_PATH="$${STATE_PATH:-$(CURDIR)/.run/state.sqlite}" $(BIN)/python tools/local/start_lambda.py --port $(LAMBDA_PORT) \
		$(if $(ENV_VARS),--env-vars $(ENV_VARS)) $(if $(PARAMETER_OVERRIDES),--parameter-overrides "$$PARAMETER_OVERRIDES")

airflow-venv: ## Airflow 3's own virtual environment for the Airflow tier (pinned; cached in ~/.cache/kafka-producers)
	@$(PYTHON) -m tools.services.airflow_env

# --- LocalStack: `sam deploy` rehearsed on this machine (tools/services/localstack.py) ---
LOCALSTACK_PORT ?= 4566
STACK_NAME ?= kafka-producers-local
# localstack-core runs on CPython 3.13 in host mode; its own venv, pinned by tools/services/localstack-requirements.txt.
PYTHON313 ?= $(firstword $(wildcard $(or $(PYENV_ROOT),$(HOME)/.pyenv)/versions/3.13*/bin/python) python3.13)
LOCALSTACK_VENV ?= $(or $(KAFKA_PRODUCERS_CACHE),$(HOME)/.cache/kafka-producers)/localstack-2026.3.0
UV_VERSION := 0.13.9
export LOCALSTACK_PYTHON := $(LOCALSTACK_VENV)/bin/python

# uv installs the 130 pinned packages in seconds where pip takes minutes on a cold cache.
$(LOCALSTACK_VENV)/.installed: tools/services/localstack-requirements.txt
	test -x $(LOCALSTACK_VENV)/bin/python || $(PYTHON313) -m venv $(LOCALSTACK_VENV)
	$(LOCALSTACK_VENV)/bin/python -m pip install --quiet uv==$(UV_VERSION)
	$(LOCALSTACK_VENV)/bin/uv pip install --quiet --python $(LOCALSTACK_VENV)/bin/python -r tools/services/localstack-requirements.txt
	touch $@

localstack-venv: $(LOCALSTACK_VENV)/.installed ## LocalStack's own Python 3.13 venv (under ~/.cache)

deploy-local: export SAM_CLI_TELEMETRY = 0
deploy-local: build localstack-venv ## Real sam deploy of STACK_NAME to LocalStack on 127.0.0.1:LOCALSTACK_PORT
	$(BIN)/python -m tools.services.localstack start --port $(LOCALSTACK_PORT)
	$(BIN)/python -m tools.services.localstack deploy --stack-name $(STACK_NAME)

deploy-local-delete: venv ## sam delete of STACK_NAME from LocalStack
	$(BIN)/python -m tools.services.localstack delete --stack-name $(STACK_NAME)

localstack-stop: ## Stop the LocalStack that make deploy-local started
	$(PYTHON) -m tools.services.localstack stop

clean: ## Remove build output and caches (keeps .venv)
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache .run site
	find . -name __pycache__ -not -path './$(VENV)/*' -prune -exec rm -rf {} +
