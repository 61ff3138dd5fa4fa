# paperfeed — the two front-door commands are `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PAPERFEED := $(VENV)/bin/paperfeed
HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: demo test test-sqlite test-postgres install lint format bench clean help browser-deps screenshots

help:
	@echo "make demo   install, load the bundled real papers, build indexes, serve on http://$(HOST):$(PORT)"
	@echo "make test   install everything the tests need and run the whole suite (lint included)"
	@echo "make bench  run the benchmarks in bench/ (long; writes bench/out/)"
	@echo "make screenshots  regenerate docs/screenshots/ with the real browser"

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

demo: install
	$(PAPERFEED) demo
	$(PAPERFEED) serve --host $(HOST) --port $(PORT)

lint: install
	$(VENV)/bin/ruff check src tests bench scripts
	$(VENV)/bin/ruff format --check src tests bench scripts

format: install
	$(VENV)/bin/ruff format src tests bench scripts
	$(VENV)/bin/ruff check --fix src tests bench scripts

# The whole suite on SQLite, then again on the machine's PostgreSQL (a database per test,
# created and dropped by the tests; see tests/databases.py). Browser tests run once (SQLite).
test: install lint browser-deps
	HF_HUB_OFFLINE=1 $(PY) -m pytest $(PYTEST_ARGS)
	HF_HUB_OFFLINE=1 PAPERFEED_TEST_BACKEND=postgres $(PY) -m pytest -m "not browser" $(PYTEST_ARGS)

test-sqlite: install browser-deps
	HF_HUB_OFFLINE=1 $(PY) -m pytest $(PYTEST_ARGS)

test-postgres: install
	HF_HUB_OFFLINE=1 PAPERFEED_TEST_BACKEND=postgres $(PY) -m pytest -m "not browser" $(PYTEST_ARGS)

# Browser tests: Debian's chromium (never a downloaded browser) + axe-core from npm. Idempotent.
browser-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  elif command -v sudo >/dev/null 2>&1; then sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "browser tests need /usr/bin/chromium: run 'apt-get install chromium' as root"; \
	    if [ "$$CI" = true ]; then exit 1; fi; fi; \
	fi
	@if [ ! -d tests/e2e/node_modules/axe-core ]; then \
	  if command -v npm >/dev/null 2>&1; then npm ci --prefix tests/e2e --no-audit --no-fund; \
	  else echo "browser tests need npm for axe-core"; if [ "$$CI" = true ]; then exit 1; fi; fi; \
	fi

screenshots: install browser-deps
	$(PY) scripts/screenshots.py --out docs/screenshots

bench: install
	$(PY) bench/run_all.py

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache build src/*.egg-info
