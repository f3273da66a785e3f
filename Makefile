# slimmer development tasks. Quick start: `make demo`, `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
SLIMMER_CACHE ?= $(HOME)/.cache/slimmer
export SLIMMER_CACHE

SAMPLES = $(shell $(PYTHON) fixtures/build_samples.py --list)

.PHONY: help setup system dockerd samples lint test demo clean-samples

help:
	@echo "make setup          virtualenv in $(VENV) with slimmer installed (editable) + test deps"
	@echo "make system         install missing Debian packages (scripts/ensure-system-packages)"
	@echo "make dockerd        start dockerd if it does not answer (scripts/ensure-dockerd)"
	@echo "make samples        build/load the sample images, save them in $(SLIMMER_CACHE)/samples"
	@echo "make lint           ruff and mypy (configured in pyproject.toml)"
	@echo "make test           lint, then all of the above, then pytest"
	@echo "make demo           slim the samples with the CLI"
	@echo "make clean-samples  remove the sample images and their cached tarballs"

setup: $(VENV)/.stamp

$(VENV)/.stamp: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $@

system:
	scripts/ensure-system-packages

dockerd:
	scripts/ensure-dockerd

samples: setup dockerd
	$(VENV)/bin/python fixtures/build_samples.py

lint: setup
	$(VENV)/bin/ruff check slimmer tests fixtures bench
	$(VENV)/bin/mypy

# Without a daemon: the daemon tests skip, or fail when CI=true.
test: lint system
	@if scripts/ensure-dockerd; then \
	  $(VENV)/bin/python fixtures/build_samples.py; \
	elif [ "$${CI:-}" = true ]; then \
	  echo "make test: CI=true and no Docker daemon: the daemon tests will fail" >&2; \
	else \
	  echo "make test: no Docker daemon: the tests that need it will skip" >&2; \
	fi
	$(VENV)/bin/pytest -q

demo: setup system samples
	@set -e; for s in c-app sh-app; do \
	  echo; echo "== slim audit slimmer-sample/$$s:latest"; \
	  $(VENV)/bin/slim audit slimmer-sample/$$s:latest; \
	  echo; echo "== slim slimmer-sample/$$s:latest --verify"; \
	  $(VENV)/bin/slim slimmer-sample/$$s:latest --verify; \
	done
	@echo; echo "== slim why slimmer-sample/c-app:latest /etc/nsswitch.conf"
	@$(VENV)/bin/slim why slimmer-sample/c-app:latest /etc/nsswitch.conf
	@echo; echo "== slim trace slimmer-sample/sh-app:latest (first lines)"
	@$(VENV)/bin/slim trace slimmer-sample/sh-app:latest | head -n 15
	@echo; docker images --filter 'reference=slimmer-sample/*' --format 'table {{.Repository}}:{{.Tag}}\t{{.Size}}'

clean-samples:
	-docker images --format '{{.Repository}}:{{.Tag}}' --filter 'reference=slimmer-sample/*' | xargs -r docker rmi
	rm -rf $(SLIMMER_CACHE)/base $(SLIMMER_CACHE)/samples $(SLIMMER_CACHE)/logs
