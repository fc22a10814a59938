# RA Workbench — the two commands a newcomer needs: `make demo` and `make test`.
SHELL := /bin/bash
export RA_WORKBENCH_DATA ?= $(CURDIR)/instance
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: setup demo test lint bench clean-demo

setup:
	@bash scripts/setup.sh

## make demo: set up, create the database, demo accounts and ~30 dossiers, serve on 127.0.0.1:5000
demo: export RA_WORKBENCH_API_TOKENS ?= portal=demo-portal-token-2026
demo: setup
	.venv/bin/ra-workbench db upgrade
	.venv/bin/ra-workbench demo-setup
	@echo "==> API du portail : RA_WORKBENCH_API_TOKENS=$$RA_WORKBENCH_API_TOKENS"
	@echo "==> RA Workbench sur http://$(HOST):$(PORT)/ (Ctrl-C pour arrêter)"
	.venv/bin/ra-workbench run --host $(HOST) --port $(PORT)

## make test: set up, lint, check migrations, start PostgreSQL + Redis, run the suite on both backends
test: setup
	@bash scripts/test.sh

lint: setup
	.venv/bin/ruff check ra_workbench tests scripts
	.venv/bin/ruff format --check ra_workbench tests scripts
	.venv/bin/mypy

bench: setup
	@bash scripts/bench.sh

clean-demo:
	rm -rf instance
