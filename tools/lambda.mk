# Included by the functions' and layers' Makefiles. `sam build` runs those on scratch copies of their
# folders, with sam's own environment, but passes each Makefile's real path: the project is found
# from this file's. (Then `.venv/bin/sam build` works even with a PATH whose python3 lacks pip.)
PROJECT := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))..)
PYTHON ?= $(if $(wildcard $(PROJECT)/.venv/bin/python),$(PROJECT)/.venv/bin/python,python3)
# Bytecode for Lambda's python3.12, shipped because /var/task and /opt are read-only (tools/bytecode.py).
BYTECODE = $(PYTHON) $(PROJECT)/tools/bytecode.py
