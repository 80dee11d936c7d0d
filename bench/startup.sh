#!/usr/bin/env bash
# startup.sh: how long parleyd takes to listen and to answer /healthz, and when its seed sentiment
# model is trained (on the thread pool, after the server already listens). Prints one key=value line
# per run: a first start on an empty data directory, then restarts on the same one.
#
#   bench/startup.sh [BIN] [RUNS]     (defaults: build/parleyd, 3)
set -euo pipefail
BIN=${1:-build/parleyd}
RUNS=${2:-3}
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
ms() { echo $(( $(date +%s%N) / 1000000 )); }
for run in $(seq 0 "$RUNS"); do
  kind=$([ "$run" -eq 0 ] && echo first || echo restart)
  t0=$(ms)
  PARLEY_ADMIN_EMAIL=bench@example.com PARLEY_ADMIN_PASSWORD=bench-password-123 PARLEY_LOG_LEVEL=info \
    "$BIN" --listen 127.0.0.1:0 --data-dir "$DIR" >"$DIR/out" 2>"$DIR/err" &
  pid=$!
  until grep -q '^listening on' "$DIR/out" 2>/dev/null; do sleep 0.002; done
  t1=$(ms)
  url=$(sed -n 's/^listening on //p' "$DIR/out")
  until curl -sf "$url/healthz" >/dev/null; do sleep 0.002; done
  t2=$(ms)
  for _ in $(seq 100); do grep -q 'seed model trained' "$DIR/err" && break; sleep 0.02; done
  seed=$(sed -n 's/.*seed model trained.* ms=\([0-9]*\).*/\1/p' "$DIR/err")
  echo "start=$kind listening_ms=$((t1 - t0)) healthz_ms=$((t2 - t0)) senti_seed_ms=${seed:-none}"
  kill -TERM "$pid"
  wait "$pid" || true
done
