#!/usr/bin/env bash
# The whole check: lint, models vs migrations, then the suite on SQLite and on PostgreSQL,
# with a real Redis. Used by `make test` and by CI (.ci/run), unchanged.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"

echo "==> lint (ruff, mypy)"
ruff check ra_workbench tests scripts
ruff format --check ra_workbench tests scripts
mypy

echo "==> services (PostgreSQL 15, Redis)"
eval "$(bash scripts/services.sh start)"

echo "==> migrations match the models (flask db check)"
tmp_data=$(mktemp -d)
RA_WORKBENCH_DATA="$tmp_data" ra-workbench db upgrade >/dev/null
RA_WORKBENCH_DATA="$tmp_data" ra-workbench db check
rm -rf "$tmp_data"

mkdir -p test-artifacts
status=0
echo "==> suite on SQLite"
env -u RA_TEST_DATABASE_URL python -m pytest -p no:cacheprovider "$@" \
  --junitxml=test-artifacts/junit-sqlite.xml || status=$?
echo "==> suite on PostgreSQL ($RA_TEST_DATABASE_URL)"
python -m pytest -p no:cacheprovider "$@" --junitxml=test-artifacts/junit-postgresql.xml || status=$?
[ "$status" -eq 0 ] && echo "==> all green on SQLite and PostgreSQL"
exit "$status"
