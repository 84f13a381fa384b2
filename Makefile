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

.PHONY: run test test-postgresql test-moved-clocks test-sqlite test-clock services browser install worker clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## make run: the console on http://127.0.0.1:5000 with demo data (SQLite, inline jobs, mail to instance/outbox);
## make run PORT=5101 serves on another port
HOST ?= 127.0.0.1
PORT ?= 5000
run: $(STAMP)
	$(FLASK) db upgrade
	$(FLASK) seed --size demo --if-empty
	$(FLASK) demo-logins --url http://$(HOST):$(PORT)
	$(FLASK) run --host $(HOST) --port $(PORT) --with-threads

## make test: three runs that between them move everything the host could leak: the whole suite on
## PostgreSQL + Redis with the host in another time zone (browser included), again on PostgreSQL with the
## clock moved to 15:30 UTC (00:30 JST, the next day in Japan), and on the embedded SQLite default with the
## clock moved to 23:59 JST on a month's last day. The browser keeps the real clock (its cookies would
## expire in a moved one), so the moved-clock runs leave tests/browser out. The fuzzing (a minute a run)
## checks input, not the clock: the first run and the SQLite run (month end) do it, the 15:30 UTC run not.
## The first run goes side by side with the other two (one after the other), each on its own Redis
## database and its own PostgreSQL databases; each run's output is printed whole when it ends.
REDIS_MOVED_URL ?= redis://127.0.0.1:6379/14
test: $(STAMP) services browser
	$(MAKE) --no-print-directory -j2 --output-sync=recurse test-postgresql test-moved-clocks

test-moved-clocks:
	$(MAKE) --no-print-directory test-clock test-sqlite REDIS_TEST_URL=$(REDIS_MOVED_URL)

test-postgresql:
	@echo "=== test run: PostgreSQL + Redis, host time zone America/Los_Angeles, browser included ==="
	TZ=America/Los_Angeles CONSOLE_TEST_DATABASE_URL=$(PG_TEST_URL) CONSOLE_TEST_REDIS_URL=$(REDIS_TEST_URL) \
		$(BIN)/python -m pytest $(PYTEST_ARGS)

test-clock:
	@echo "=== test run: clock moved to 15:30 UTC (00:30 JST, the next day in Japan), PostgreSQL ==="
	CONSOLE_TEST_DATABASE_URL=$(PG_TEST_URL) CONSOLE_TEST_REDIS_URL=$(REDIS_TEST_URL) \
		$(BIN)/python -m pytest -m "not browser and not fuzz" --clock=utc-1530 $(PYTEST_ARGS)

test-sqlite:
	@echo "=== test run: SQLite (embedded default) + Redis, clock moved to 23:59 JST on the last day of a month ==="
	CONSOLE_TEST_DATABASE_URL=sqlite CONSOLE_TEST_REDIS_URL=$(REDIS_TEST_URL) \
		$(BIN)/python -m pytest -m "not postgresql and not browser" --clock=jst-month-end $(PYTEST_ARGS)

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
