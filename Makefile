# Two commands do all set-up on a fresh machine: `make run` and `make test` (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
FLASK := $(BIN)/flask --app console
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/postgres
REDIS_TEST_URL ?= redis://127.0.0.1:6379/15
PYTEST_ARGS ?=

.PHONY: run test test-postgresql test-sqlite services browser install worker clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## make run: the console on http://127.0.0.1:5000 with demo data (SQLite, inline jobs, mail to instance/outbox)
run: $(STAMP)
	$(FLASK) db upgrade
	$(FLASK) seed --size demo --if-empty
	$(FLASK) demo-logins
	$(FLASK) run --host 127.0.0.1 --port 5000

## make test: the whole suite on PostgreSQL + Redis, then again on the embedded SQLite default
test: $(STAMP) services browser
	$(MAKE) --no-print-directory test-postgresql test-sqlite

test-postgresql:
	@echo "=== test run: PostgreSQL + Redis ==="
	CONSOLE_TEST_DATABASE_URL=$(PG_TEST_URL) CONSOLE_TEST_REDIS_URL=$(REDIS_TEST_URL) \
		$(BIN)/python -m pytest $(PYTEST_ARGS)

test-sqlite:
	@echo "=== test run: SQLite (embedded default) + Redis ==="
	CONSOLE_TEST_DATABASE_URL=sqlite CONSOLE_TEST_REDIS_URL=$(REDIS_TEST_URL) \
		$(BIN)/python -m pytest -m "not postgresql" $(PYTEST_ARGS)

services:
	bash scripts/ensure-services.sh

## make browser: headless Chromium and chromedriver for tests/browser (Debian's chromium, chromium-driver)
browser:
	bash scripts/ensure-browser.sh

## make worker: an rq worker with the scheduler (needs CONSOLE_REDIS_URL)
worker: $(STAMP)
	$(FLASK) worker

clean:
	rm -rf $(VENV) instance .pytest_cache
