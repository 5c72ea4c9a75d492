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

.PHONY: help venv test test-unit lint format run demo invoke broker broker-stop tail build deploy validate bench clean
.PHONY: localstack-venv deploy-local deploy-local-delete localstack-stop

help: ## This list
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

$(BIN)/.installed: requirements-dev.txt layers/kafka_deps/requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	touch $@

venv: $(BIN)/.installed ## Create .venv with every development dependency

test: venv localstack-venv ## The whole suite: unit, integration (embedded broker), template checks, deploy (LocalStack)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-unit: venv ## Unit tests only (no broker, no sam)
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

lint: venv ## ruff (lint and format check) and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy layers/common/python/producer_common functions/rss_producer functions/polymarket_producer tools

format: venv ## Apply ruff's formatting and safe fixes
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

run: venv ## Both producers once against their live sources (embedded broker unless KAFKA_BOOTSTRAP_SERVERS)
	$(BIN)/python -m tools.demo --live

demo: venv ## Both producers once against recorded fixtures served locally
	$(BIN)/python -m tools.demo

invoke: venv ## Docker-free `sam local invoke`: FUNCTION=<LogicalId> EVENT=<file> [ENV_VARS=<file>]
	@STATE_PATH="$${STATE_PATH:-$(CURDIR)/.run/state.sqlite}" $(BIN)/python tools/invoke.py $(FUNCTION) --event $(EVENT) $(if $(ENV_VARS),--env-vars $(ENV_VARS))

broker: venv ## Start the embedded broker on 127.0.0.1:$(BROKER_PORT)
	$(BIN)/python -m tools.broker start --port $(BROKER_PORT)

broker-stop: ## Stop the embedded broker
	$(BIN)/python -m tools.broker stop

tail: venv ## Last N messages of TOPIC, one JSON line each
	@$(BIN)/python -m tools.broker tail $(TOPIC) -n $(N)

build: venv ## sam build (functions and layers for python3.12 on Lambda)
	$(BIN)/sam build

deploy: build ## sam deploy (add --guided the first time: make deploy DEPLOY_ARGS=--guided)
	$(BIN)/sam deploy $(DEPLOY_ARGS)

validate: venv ## sam validate --lint and cfn-lint
	$(BIN)/sam validate --lint
	$(BIN)/cfn-lint template.yaml

bench: venv ## The benchmark suite on the embedded broker (ONLY=K,C for some groups)
	$(BIN)/python -m tools.bench $(if $(ONLY),--only $(ONLY))

# --- LocalStack: `sam deploy` rehearsed on this machine (tools/localstack.py) ---
LOCALSTACK_PORT ?= 4566
STACK_NAME ?= kafka-producers-local
# localstack-core runs on CPython 3.13 in host mode; its own venv, pinned by tools/localstack-requirements.txt.
PYTHON313 ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.13*/bin/python) python3.13)
LOCALSTACK_VENV ?= $(or $(KAFKA_PRODUCERS_CACHE),$(HOME)/.cache/kafka-producers)/localstack-2026.3.0
UV_VERSION := 0.13.9
export LOCALSTACK_PYTHON := $(LOCALSTACK_VENV)/bin/python

# uv installs the 130 pinned packages in seconds where pip takes minutes on a cold cache.
$(LOCALSTACK_VENV)/.installed: tools/localstack-requirements.txt
	test -x $(LOCALSTACK_VENV)/bin/python || $(PYTHON313) -m venv $(LOCALSTACK_VENV)
	$(LOCALSTACK_VENV)/bin/python -m pip install --quiet uv==$(UV_VERSION)
	$(LOCALSTACK_VENV)/bin/uv pip install --quiet --python $(LOCALSTACK_VENV)/bin/python -r tools/localstack-requirements.txt
	touch $@

localstack-venv: $(LOCALSTACK_VENV)/.installed ## LocalStack's own Python 3.13 venv (under ~/.cache)

deploy-local: export SAM_CLI_TELEMETRY = 0
deploy-local: build localstack-venv ## Real sam deploy of STACK_NAME to LocalStack on 127.0.0.1:LOCALSTACK_PORT
	$(BIN)/python -m tools.localstack start --port $(LOCALSTACK_PORT)
	$(BIN)/python -m tools.localstack deploy --stack-name $(STACK_NAME)

deploy-local-delete: venv ## sam delete of STACK_NAME from LocalStack
	$(BIN)/python -m tools.localstack delete --stack-name $(STACK_NAME)

localstack-stop: ## Stop the LocalStack that make deploy-local started
	$(PYTHON) -m tools.localstack stop

clean: ## Remove build output and caches (keeps .venv)
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache .run
	find . -name __pycache__ -not -path './$(VENV)/*' -prune -exec rm -rf {} +
