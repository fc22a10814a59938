#!/usr/bin/env bash
# CI on a busy machine: `.ci/run` on a fresh clone of HEAD, RUNS times in a row, while BURNERS
# CPU-bound processes spin on the same cores. Stops at the first red run; exits with its status.
#   bash scripts/ci_under_load.sh            # 3 runs, 2 burners
#   RUNS=1 BURNERS=4 bash scripts/ci_under_load.sh
# Services on their own ports and directory, so that it can run beside a developer's own.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
runs="${RUNS:-3}"
burners="${BURNERS:-2}"
work="${CI_LOAD_DIR:-$(mktemp -d /tmp/ci-under-load.XXXXXX)}"
commit="$(git -C "$repo" rev-parse HEAD)"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; }
trap cleanup EXIT
for _ in $(seq "$burners"); do
  python3 -c 'while True: pass' &
  pids+=("$!")
done
echo "==> $runs run(s) of .ci/run on $commit with $burners CPU burner(s); logs in $work"
for run in $(seq "$runs"); do
  dir="$work/run-$run"
  rm -rf "$dir" && mkdir -p "$dir"
  cp -r "$repo/../shared" "$dir/shared"
  git clone -q "$repo" "$dir/main" && git -C "$dir/main" checkout -q "$commit"
  start=$(date +%s)
  set +e
  (cd "$dir/main" && RA_PG_PORT=55632 RA_REDIS_PORT=56579 RA_SERVICES_DIR="$dir/services" \
    bash .ci/run) >"$dir/ci.log" 2>&1
  rc=$?
  set -e
  (cd "$dir/main" && RA_PG_PORT=55632 RA_REDIS_PORT=56579 RA_SERVICES_DIR="$dir/services" bash scripts/services.sh stop) >/dev/null 2>&1 || true
  echo "run $run: exit $rc after $(( $(date +%s) - start )) s, load $(cut -d' ' -f1-3 /proc/loadavg)"
  grep -E "^(=+ .* (passed|failed|error).* in |FAILED|ERROR)" "$dir/ci.log" | tail -6 || true
  [ "$rc" -eq 0 ] || exit "$rc"
done
echo "==> $runs green run(s) in a row under load"
