#!/usr/bin/env bash
# Until the first production deployment the schema is one initial migration, regenerated
# from the models. After it, use `ra-workbench db migrate -m "..."` for each change instead.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
rm -f migrations/versions/*.py
RA_WORKBENCH_DATA="$tmp" .venv/bin/ra-workbench db migrate -m "initial schema" >/dev/null
file=$(ls migrations/versions/*.py)
# Trigram search indexes need the pg_trgm extension, which autogenerate does not emit.
python3 - "$file" <<'PY'
import sys
path = sys.argv[1]
text = open(path).read()
marker = "def upgrade():\n"
hook = (
    "def upgrade():\n"
    "    if op.get_bind().dialect.name == \"postgresql\":\n"
    "        op.execute(\"CREATE EXTENSION IF NOT EXISTS pg_trgm\")\n"
)
text = text.replace(marker, hook, 1)
open(path, "w").write(text)
PY
RA_WORKBENCH_DATA="$tmp" .venv/bin/ra-workbench db upgrade >/dev/null
RA_WORKBENCH_DATA="$tmp" .venv/bin/ra-workbench db check
rm -rf "$tmp"
echo "regenerated $file"
