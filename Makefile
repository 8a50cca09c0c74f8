# The README's two commands:  `make run`  (set up, then build the default dataset)
#                             `make test` (set up, then lint and run the whole test suite)
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: setup system-deps run test lint bench clean

$(STAMP): requirements.txt constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r requirements.txt -c constraints.txt
	touch $(STAMP)

node_modules/.bin/azurite-blob: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup: $(STAMP) node_modules/.bin/azurite-blob

system-deps:
	bash scripts/install_system_deps.sh

run: $(STAMP)
	$(PY) build_dataset.py

lint: $(STAMP)
	$(PY) -m ruff check .

test: setup system-deps lint
	$(PY) -m pytest

bench: $(STAMP)
	$(PY) -m bench

clean:
	rm -rf $(VENV) node_modules cache .pytest_cache .ruff_cache
