# Samtale — two commands do everything: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= $(or $(SAMTALE_HOST),127.0.0.1)
PORT ?= $(or $(SAMTALE_HTTP_PORT),8000)
PG_URL ?= postgres://postgres@127.0.0.1:5432/test
export SAMTALE_DEMO_PASSWORD ?= samtale-demo

.PHONY: run install install-test chromium dovecot test test-sqlite test-postgres bench lint format clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

.stamp-install: $(BIN)/python pyproject.toml package.json
	$(BIN)/pip install --quiet -e .
	npm install --omit=dev --no-audit --no-fund --silent
	touch $@

.stamp-install-test: .stamp-install
	$(BIN)/pip install --quiet -e '.[test]'
	npm install --no-audit --no-fund --silent  # with axe-core, for the accessibility test
	touch $@

install: .stamp-install

install-test: .stamp-install-test chromium dovecot

dovecot:
	@if [ ! -x /usr/sbin/dovecot ]; then \
	  echo "Installing Debian's Dovecot for the IMAP tests"; \
	  (apt-get update -qq || true) && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd >/dev/null; \
	fi
	@test -x /usr/sbin/dovecot || (echo "dovecot is missing and could not be installed" >&2; exit 1)

chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
	  echo "Installing Debian's chromium for browser tests"; \
	  (apt-get update -qq || true) && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi
	@test -x /usr/bin/chromium || (echo "chromium is missing and could not be installed" >&2; exit 1)

run: install
	@mkdir -p var
	$(BIN)/samtale migrate --noinput -v0
	$(BIN)/samtale demo --if-empty
	@echo ""
	@echo "  Samtale is starting at http://$(HOST):$(PORT)/"
	@echo "  Sign in as admin@demo.samtale.example with password '$(SAMTALE_DEMO_PASSWORD)'"
	@echo ""
	SAMTALE_HOST=$(HOST) SAMTALE_HTTP_PORT=$(PORT) $(BIN)/samtale serve

test: install-test
	$(MAKE) --no-print-directory test-sqlite
	$(MAKE) --no-print-directory test-postgres

test-sqlite:
	@echo "== test suite on SQLite =="
	env -u SAMTALE_DATABASE_URL $(BIN)/pytest -n 2 --dist worksteal -p no:cacheprovider --durations=12 $(PYTEST_ARGS)

test-postgres:
	@if $(BIN)/python -c "import psycopg,sys; psycopg.connect('$(PG_URL)', connect_timeout=3).close()" 2>/dev/null; then \
	  echo "== test suite on PostgreSQL (browser tests of screens, marked 'screen', ran in the SQLite run) =="; \
	  SAMTALE_DATABASE_URL=$(PG_URL) $(BIN)/pytest -n 2 --dist worksteal -p no:cacheprovider --durations=12 -m "not screen" $(PYTEST_ARGS); \
	elif [ "$$CI" = "true" ]; then \
	  echo "PostgreSQL at $(PG_URL) is not reachable, and CI=true: failing." >&2; exit 1; \
	else \
	  echo "PostgreSQL at $(PG_URL) is not reachable: PostgreSQL run NOT done (it is required in CI)."; \
	fi

bench: install-test
	$(BIN)/python bench/inbox_views.py $(BENCH_ARGS)
	$(BIN)/python bench/routing.py
	$(BIN)/python bench/email_ingest.py
	$(BIN)/python bench/chat_ws.py
	$(BIN)/python bench/thread_http.py
	$(BIN)/python bench/serving.py
	$(BIN)/python bench/inbox_http.py $(BENCH_ARGS)
	$(BIN)/python bench/ui.py $(BENCH_ARGS)
	$(BIN)/python bench/crm.py $(CRM_BENCH_ARGS)

lint: .stamp-install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: install-test
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) node_modules .stamp-install .stamp-install-test
