# The two commands: `make run` and `make test`. Everything else is a helper.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: run test test-fast lint fmt install chromium redis clean

## install: create .venv and install the pinned dependencies (again only when pyproject.toml changes)
install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Installing dependencies into $(VENV)…"
	@$(BIN)/pip install --quiet --disable-pip-version-check -e ".[dev]"
	@touch $(STAMP)

## run: set up, then start the web app, the worker cluster and the Pinterest sandbox
run: install
	@$(BIN)/python manage.py migrate --noinput -v0
	@$(BIN)/python manage.py setup_schedules
	@$(BIN)/python manage.py demo_data
	@echo "Open http://127.0.0.1:8000 — Ctrl-C stops everything."
	@$(BIN)/honcho start

## test: set up (Chromium included) and run the whole suite, browser tests too
test: install chromium redis
	@$(BIN)/pytest -q

## test-fast: the suite without browser tests
test-fast: install redis
	@$(BIN)/pytest -q -m "not e2e"

## redis: the write-budget tests run the Redis clock too; start the machine's Redis if it is down
redis:
	@redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || { \
	  command -v redis-server >/dev/null 2>&1 || { echo "Tests need Redis: apt-get install redis-server" >&2; exit 1; }; \
	  echo "Starting Redis on 127.0.0.1:6379…"; \
	  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null; \
	  for _ in 1 2 3 4 5 6 7 8 9 10; do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.5; done; }

## chromium: Debian's Chromium drives the browser tests (Playwright cannot download one here)
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "Installing Debian's chromium for the browser tests…"; \
	    apt-get update -qq >/dev/null && apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "Browser tests need Debian's chromium: sudo apt-get install chromium" >&2; exit 1; \
	  fi; }

## lint: ruff (lint + format check) everywhere, mypy with django-stubs on partners/ and audiences/
lint: install
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .
	@$(BIN)/mypy

fmt: install
	@$(BIN)/ruff format .
	@$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache test-artifacts
