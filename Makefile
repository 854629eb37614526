# Patron's commands. `make run` and `make test` are the README's two commands.
PYTHON := $(shell scripts/find-python.sh)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
CONTACTS ?= 5000
export PATRON_VAR_DIR ?= $(CURDIR)/var

.PHONY: run test install serve demo lint format bench bench-import clean

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.12+ is required"; exit 1; }
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

## Run Patron on SQLite with demo data at http://127.0.0.1:8000
run: install
	@$(VENV)/bin/patron migrate --no-input
	@$(VENV)/bin/patron demo --contacts $(CONTACTS) --if-empty
	@$(VENV)/bin/patron serve

## Run the whole test suite on SQLite and PostgreSQL
test: install
	@scripts/ensure-chromium.sh
	@scripts/test.sh

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy patron
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: install
	$(PY) benchmarks/api_latency.py

## Import throughput: 100k and 1M messy rows on PostgreSQL, against COPY of the same rows
bench-import: install
	$(PY) benchmarks/import_throughput.py

clean:
	rm -rf $(VENV) var staticfiles
