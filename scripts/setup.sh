#!/usr/bin/env bash
# Idempotent set-up on a Debian machine: system packages (when missing), a venv, the locked
# dependencies and the package. Usage: scripts/setup.sh [dev|runtime] (default dev).
set -euo pipefail
cd "$(dirname "$0")/.."

SYSTEM_PACKAGES=(tesseract-ocr tesseract-ocr-fra tesseract-ocr-eng poppler-utils fonts-ocr-b
  fonts-dejavu-core redis-server postgresql-15 chromium openssl softhsm2)
missing=()
for pkg in "${SYSTEM_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "==> installation des paquets système : ${missing[*]}"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  echo "==> création du venv (.venv)"
  "$PYTHON" -m venv .venv
fi

# Exactly the versions of a lock (`make lock` writes them, with their hashes): `runtime` for
# `make demo`, `dev` (runtime + the dev, bench and train extras) for everything else. The
# stamp names the lock and the fingerprint installed; dev's pins include runtime's.
LOCK="${1:-dev}"
[ -f "requirements/$LOCK.txt" ] || { echo "verrou inconnu : requirements/$LOCK.txt" >&2; exit 2; }
fingerprint() { cat "requirements/$1.txt" pyproject.toml | sha256sum | cut -d" " -f1; }
stamp=.venv/.ra-installed
installed=$(cat "$stamp" 2>/dev/null || true)
if [ "$installed" != "$LOCK $(fingerprint "$LOCK")" ] && [ "$installed" != "dev $(fingerprint dev)" ]; then
  echo "==> installation des dépendances verrouillées (requirements/$LOCK.txt) et du paquet"
  .venv/bin/pip install -q --require-hashes -r "requirements/$LOCK.txt"
  # The package alone: its dependencies are the lock's; setuptools comes from the lock too.
  .venv/bin/pip install -q --no-deps --no-build-isolation -e .
  echo "$LOCK $(fingerprint "$LOCK")" >"$stamp"
fi
