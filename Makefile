# RA Workbench — the two commands a newcomer needs: `make demo` and `make test`.
SHELL := /bin/bash
export RA_WORKBENCH_DATA ?= $(CURDIR)/instance
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: setup lock demo serve test e2e lint bench clean-demo

## make setup: Debian packages, .venv, and the dev lock (requirements/dev.txt) with the package
setup:
	@bash scripts/setup.sh

## make lock: resolve pyproject.toml into requirements/{runtime,dev}.txt (exact versions and
## hashes, Python 3.11 on Linux x86_64); keeps current pins unless needed, UPGRADE=1 to refresh
LOCK_FLAGS = --quiet --generate-hashes --python-version 3.11 \
  --python-platform x86_64-unknown-linux-gnu --custom-compile-command "make lock" \
  $(if $(UPGRADE),--upgrade)
lock: setup
	.venv/bin/uv pip compile $(LOCK_FLAGS) pyproject.toml requirements/build.in \
	  --extra prod -o requirements/runtime.txt
	.venv/bin/uv pip compile $(LOCK_FLAGS) pyproject.toml requirements/build.in \
	  --extra prod --extra dev --extra bench --extra train -c requirements/runtime.txt \
	  -o requirements/dev.txt

## make demo: the runtime lock, the database, demo accounts and ~30 dossiers, on 127.0.0.1:5000
demo: export RA_WORKBENCH_API_TOKENS ?= portal=demo-portal-token-2026
demo:
	@bash scripts/setup.sh runtime
	.venv/bin/ra-workbench db upgrade
	.venv/bin/ra-workbench demo-setup
	@echo "==> API du portail : RA_WORKBENCH_API_TOKENS=$$RA_WORKBENCH_API_TOKENS"
	@echo "==> RA Workbench sur http://$(HOST):$(PORT)/ (Ctrl-C pour arrêter)"
	.venv/bin/ra-workbench run --host $(HOST) --port $(PORT)

## make serve: the production command line — gunicorn with WORKERS processes serving create_app(),
## JSON logs — on the runtime lock and the configured database (workers and scheduler run apart)
WORKERS ?= 4
serve: export RA_WORKBENCH_LOG_FORMAT ?= json
serve:
	@bash scripts/setup.sh runtime
	.venv/bin/ra-workbench db upgrade
	.venv/bin/gunicorn --workers $(WORKERS) --bind $(HOST):$(PORT) --graceful-timeout 30 \
	  'ra_workbench.app:create_app()'

## make test: set up, lint, check migrations, start PostgreSQL + Redis, run the suite on both backends
test: setup
	@bash scripts/test.sh

## make e2e: the production run alone (also part of make test): gunicorn, two workers and a
## scheduler on the PostgreSQL and Redis that scripts/services.sh starts, driven over HTTP
e2e: setup
	eval "$$(bash scripts/services.sh start)" && .venv/bin/python -m pytest -p no:cacheprovider tests/e2e

lint: setup
	.venv/bin/ruff check ra_workbench tests scripts
	.venv/bin/ruff format --check ra_workbench tests scripts
	.venv/bin/mypy

bench: setup
	@bash scripts/bench.sh

clean-demo:
	rm -rf instance
