#!/usr/bin/env bash
# All benchmarks, against the private PostgreSQL and Redis of scripts/services.sh.
# Figures are printed as JSON; the README quotes them with date and machine.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
eval "$(bash scripts/services.sh start)"
mkdir -p bench-out
python scripts/bench_ingest.py --count 1000 --json bench-out/ingest-sqlite.json
python scripts/bench_ingest.py --count 1000 --database-url "$RA_BENCH_DATABASE_URL" \
  --json bench-out/ingest-postgresql.json
python scripts/bench_extract.py --json bench-out/extract.json
python scripts/bench_checks.py --dossiers 1000
python scripts/bench_queue.py --count 100000 --repeat 20 --json bench-out/queue.json
python scripts/bench_batch.py --dossiers 10000 --no-fork --json bench-out/batch.json
