# Included by the functions' and layers' Makefiles. `sam build` runs those on scratch copies of their
# folders, with sam's own environment, but passes each Makefile's real path: the project is found
# from this file's. (Then `.venv/bin/sam build` works even with a PATH whose python3 lacks pip.)
PROJECT := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))..)
PYTHON ?= $(if $(wildcard $(PROJECT)/.venv/bin/python),$(PROJECT)/.venv/bin/python,python3)
# Bytecode for Lambda's python3.12, shipped because /var/task and /opt are read-only (lambda_build/bytecode.py).
BYTECODE = $(PYTHON) $(PROJECT)/lambda_build/bytecode.py
# The Lambda architecture the layers' wheels are for: the template's Architecture parameter, arm64
# by default. Build with the value you deploy with: LAMBDA_ARCHITECTURE=x86_64 make build, then
# Architecture=x86_64 in the deploy's parameter overrides.
LAMBDA_ARCHITECTURE ?= arm64
MACHINE = $(if $(filter arm64,$(LAMBDA_ARCHITECTURE)),aarch64,$(if $(filter x86_64,$(LAMBDA_ARCHITECTURE)),x86_64,$(error LAMBDA_ARCHITECTURE must be arm64 or x86_64, not $(LAMBDA_ARCHITECTURE))))
# Lambda's python3.12 (Amazon Linux 2023, glibc 2.34) takes either manylinux tag for MACHINE.
PLATFORMS = --platform manylinux2014_$(MACHINE) --platform manylinux_2_28_$(MACHINE)
