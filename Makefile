# Herald — the two commands of the README, and their parts.
#
#   make run     set up (venv, pinned requirements, npm ci, static/vendor, translations,
#                migrations, demo data) and start the embedded default on http://127.0.0.1:8000/
#   make test    set up the dev tools and run ruff and pytest (pass pytest options with ARGS="...")
#
# Every set-up step is a file target, so a step whose inputs did not change is skipped.
# Tests use DATABASE_URL / REDIS_URL from the environment (SQLite and memory when unset).

SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
HOST ?= 127.0.0.1
PORT ?= 8000
ARGS ?=
RUN_ARGS ?=

PY := $(VENV)/bin/python
NPM_STAMP := node_modules/.herald-npm-ci
VENDOR_STAMP := static/vendor/VERSIONS

.PHONY: help run test setup setup-dev vendor translations migrate seed chromium lint clean

help:
	@printf '%s\n' \
	  'make run     set up and start Herald (embedded default) on http://$(HOST):$(PORT)/' \
	  'make test    ruff + pytest; extra pytest options: make test ARGS="-k login -x"' \
	  'make setup   only install/refresh everything make run needs' \
	  'make lint    ruff check .' \
	  'make clean   remove generated front-end files and compiled translations (keeps var/ and .venv)'

run: setup migrate seed
	$(PY) manage.py runherald --host $(HOST) --port $(PORT) $(RUN_ARGS)

# pytest runs even when ruff finds problems, so one run shows both; either fails the target.
test: setup-dev $(VENDOR_STAMP) translations chromium
	@lint=0; echo "$(VENV)/bin/ruff check ."; $(VENV)/bin/ruff check . || lint=$$?; \
	echo "$(VENV)/bin/pytest $(ARGS)"; $(VENV)/bin/pytest $(ARGS) || exit $$?; \
	if [ $$lint -ne 0 ]; then echo "make test: ruff check failed (see above)." >&2; fi; exit $$lint

setup: $(VENV)/.requirements.stamp $(VENDOR_STAMP) translations

setup-dev: $(VENV)/.requirements-dev.stamp

# --- Python ---------------------------------------------------------------------------------
$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || \
	  { echo "Herald needs Python 3.11 or newer as '$(PYTHON)' (make run PYTHON=python3.12 to choose another)." >&2; exit 1; }
	@echo "Creating the virtualenv $(VENV)"
	$(PYTHON) -m venv $(VENV)

$(VENV)/.requirements.stamp: requirements.txt | $(PY)
	$(PY) -m pip install --quiet --requirement requirements.txt
	touch $@

# requirements-dev.txt includes requirements.txt, so it refreshes both stamps.
$(VENV)/.requirements-dev.stamp: requirements-dev.txt requirements.txt | $(PY)
	$(PY) -m pip install --quiet --requirement requirements-dev.txt
	touch $@ $(VENV)/.requirements.stamp

# --- Front end: npm packages from the lock file, copied into static/vendor/ -------------------
package-lock.json:
	npm install --package-lock-only --ignore-scripts --no-audit --no-fund

$(NPM_STAMP): package.json package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "Herald needs Node.js 20+ with npm to install its front-end packages." >&2; exit 1; }
	@node -e 'process.exit(parseInt(process.versions.node, 10) < 20 ? 1 : 0)' || \
	  { echo "Herald needs Node.js 20 or newer (found $$(node --version))." >&2; exit 1; }
	npm ci --ignore-scripts --no-audit --no-fund
	touch $@

$(VENDOR_STAMP): $(NPM_STAMP) scripts/vendor.sh
	scripts/vendor.sh

vendor: $(VENDOR_STAMP)

# --- Django steps ---------------------------------------------------------------------------
translations: | $(VENV)/.requirements.stamp
	$(PY) manage.py compiletranslations --verbosity 0

migrate: | $(VENV)/.requirements.stamp
	$(PY) manage.py migrate --noinput

seed: | $(VENV)/.requirements.stamp
	$(PY) manage.py seed_demo

# --- Test tools -----------------------------------------------------------------------------
chromium:
	scripts/ensure-chromium.sh

lint: setup-dev
	$(VENV)/bin/ruff check .

clean:
	rm -rf static/vendor staticfiles $(NPM_STAMP)
	find . -path ./.venv -prune -o -path ./node_modules -prune -o -name '*.mo' -path '*/LC_MESSAGES/*' -print -delete
