# Atende: `make run` starts everything, `make test` runs the whole suite.
# Both create .venv with a Python >= 3.12 found on this machine.

SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat requirements.txt requirements-dev.txt | cksum | cut -d' ' -f1)

# First interpreter that really runs and is >= 3.12 (pyenv shims for versions that are
# not selected fail to run, so each candidate is executed, not just looked up).
PYTHON ?= $(shell for c in python3.14 python3.13 python3.12 python3 \
	$(wildcard $(HOME)/.pyenv/versions/3.1[2-9]*/bin/python3) \
	$(wildcard /usr/local/bin/python3.1[2-9] /usr/bin/python3.1[2-9]); do \
	if "$$c" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' >/dev/null 2>&1; then \
	command -v "$$c" || echo "$$c"; break; fi; done)

.PHONY: demo-traffic run test lint venv install migrate seed messages clean-var redis-start redis-stop bench-ingest

$(BIN)/python:
	@if [ -z "$(PYTHON)" ]; then \
	  echo "Atende needs Python 3.12 or newer (Django 6.1), and none was found."; \
	  echo "Tried python3.14, python3.13, python3.12, python3 and ~/.pyenv/versions/3.1x."; \
	  echo "Install one (e.g. 'apt install python3.12 python3.12-venv' or 'pyenv install 3.12')"; \
	  echo "or point to it: make run PYTHON=/path/to/python3.12"; \
	  exit 1; fi
	@echo "Creating $(VENV) with $(PYTHON)"
	"$(PYTHON)" -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python requirements.txt requirements-dev.txt
	$(BIN)/pip install --quiet -r requirements-dev.txt
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

venv install: $(STAMP)

messages: $(STAMP)
	$(BIN)/python manage.py compiletranslations -v 0

migrate: $(STAMP) messages
	$(BIN)/python manage.py migrate --noinput -v 0

# Web (daphne), Celery worker and beat, and the embedded Redis when REDIS_URL is unset,
# all in one process group: one Ctrl-C stops them all.
run: migrate
	$(BIN)/python manage.py runall --seed-demo $(RUN_ARGS)

test: $(STAMP) messages
	$(BIN)/python manage.py embedded_redis start --if-needed
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Needs DATABASE_URL (PostgreSQL) and REDIS_URL; see bench/README.md. BENCH_ARGS=--messages 5000
bench-ingest: $(STAMP)
	$(BIN)/python bench/ingest.py $(BENCH_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .

redis-start: $(STAMP)
	$(BIN)/python manage.py embedded_redis start --if-needed

redis-stop: $(STAMP)
	$(BIN)/python manage.py embedded_redis stop

# make run, plus sample customer messages posted to the demo company every few seconds.
demo-traffic: migrate
	$(BIN)/python manage.py runall --seed-demo --demo-traffic
