# Two commands set everything up on a fresh machine with Python 3.11: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
ifeq (, $(shell command -v $(PYTHON) 2>/dev/null))
PYTHON := python3
endif
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
PORT ?= 8000
HOST ?= 127.0.0.1
PYTEST_ARGS ?=

.PHONY: run serve install install-dev messages migrate seed test test-quick lint typecheck format bench clean help

help:
	@echo "make run | test | test-quick | lint | typecheck | format | bench | messages | clean"

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

# Stamp files: reinstall only when the requirements change.
$(VENV)/.installed: requirements.txt | $(BIN)/activate
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/activate
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

messages: install
	$(PY) scripts/compile_messages.py

migrate: install messages
	$(PY) manage.py migrate --noinput

seed: migrate
	$(PY) manage.py seed_demo --if-empty

# Embedded default: SQLite, in-memory channel layer, in-process tasks; HTTP and websockets on one ASGI server.
run: seed
	@echo "Serving on http://$(HOST):$(PORT)/  (log in as director / agent01 / branch01 ..., password demo12345)"
	$(BIN)/uvicorn contactcenter.asgi:application --host $(HOST) --port $(PORT) --lifespan off --log-config uvicorn-logging.json

test: install-dev messages
	$(BIN)/pytest $(PYTEST_ARGS)

# Fast subset for the embedded default (CI runs it after the full suite on PostgreSQL + Redis).
test-quick: install-dev messages
	$(BIN)/pytest -m "not postgres and not redis and not browser" -q $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	$(MAKE) typecheck

# mypy with django-stubs and djangorestframework-stubs ([tool.mypy] in pyproject.toml): strict on
# services, selectors and APIs.
typecheck: install-dev
	$(BIN)/mypy

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: install-dev messages
	$(PY) -m bench

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
