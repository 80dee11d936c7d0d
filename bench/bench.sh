#!/usr/bin/env bash
# bench.sh: Parley's conversation benchmarks (`make bench`). Each scenario starts its own parleyd
# (release build, a fresh data directory on disk, a free loopback port), drives it with
# build/loadgen, stops it, and the suite ends with a summary table. Raw key=value lines, the
# server logs and /metrics snapshots stay in the output directory printed at the end.
#
# Scenarios (see docs/performance.md, "Conversations: latency and connections"):
#   latency    VISITORS visitor WebSockets + 1 agent; RATE messages/s for DURATION s, open loop;
#              p50/p99 of visitor send -> agent receives message.created, and send -> ack.
#   sweep      the same at increasing rates; the largest rate whose p99 stays under 10 ms.
#   throughput closed loop: THROUGHPUT_WINDOW messages in flight over THROUGHPUT_VISITORS for
#              THROUGHPUT_DURATION s; durable messages/s (acked after the commit, delivered to the
#              agent). Issue 6: 50,000/s with --sync full.
#   fanout     FANOUT_AGENTS agent WebSockets of the admin (one token; an admin gets every event)
#              + FANOUT_VISITORS visitors sending at each of FANOUT_RATES msg/s (FANOUT_DURATION s
#              each, stopping at the first rate the server cannot keep up with: copies lost or late,
#              or p99 over FANOUT_P99_MS); deliveries/s = msg/s x agents. Issue 6: 300,000/s to
#              10,000 sockets.
#   storm      STORM_VISITORS visitors (one session and conversation each) leave; the agent posts
#              STORM_MISSED replies into each conversation; all reconnect at once with since=<their
#              last seq>; time until every visitor has all of them, checked once and in order.
#              Issue 6: 10,000 visitors within 3 s.
#   slow       SLOW_VISITORS visitors + 1 agent at SLOW_RATE msg/s (baseline phase), then SLOW
#              agent WebSockets that never read (small SO_RCVBUF) and the same phase again: both
#              latencies, server RSS before/peak/after, kernel TCP memory, slow clients closed.
#   idle       IDLE visitor WebSockets held open; failures, connect time, server RSS per connection.
#   footprint  parleyd's file size, start-up time (exec to /healthz answering; first start and a
#              restart on the same data) and RSS after start.
#   ceiling    the machine's raw ceilings, if $BUILD/sqlite_ceiling and $BUILD/send_ceiling are
#              built: SQLite group commit rows/s and raw frames/s to FANOUT_AGENTS sockets; the
#              table then gives durable msg/s and fan-out deliveries/s as ratios of them.
#   routing    build/route_sim: the router against Erlang C (M/M/c, least_busy) and mixed skills
#              (round robin against weighted); no server, no network.
#
# Knobs (environment): BENCH_SCENARIOS="latency sweep ...", BENCH_SYNC=full|normal,
# BENCH_VISITORS=1000, BENCH_RATE=500, BENCH_DURATION=10, BENCH_SWEEP_VISITORS=1000,
# BENCH_SWEEP_RATES=..., BENCH_SWEEP_DURATION=5, BENCH_THROUGHPUT_VISITORS=1000,
# BENCH_THROUGHPUT_WINDOW=1000, BENCH_THROUGHPUT_DURATION=5, BENCH_FANOUT_AGENTS=10000,
# BENCH_FANOUT_VISITORS=20, BENCH_FANOUT_RATES=1,2,3,5,10,20,30,50, BENCH_FANOUT_DURATION=3,
# BENCH_FANOUT_P99_MS=1000, BENCH_STORM_VISITORS=10000, BENCH_STORM_MISSED=3,
# BENCH_SLOW=200, BENCH_SLOW_VISITORS=1000, BENCH_SLOW_RATE=500, BENCH_SLOW_DURATION=10,
# BENCH_IDLE=10000, BENCH_IDLE_SESSIONS=2000, BENCH_IDLE_HOLD=5, BENCH_CEILING_SECONDS=2,
# BENCH_CEILING_GROUPS=1,10,100,1000, BENCH_CEILING_BATCH=1, BENCH_DIR=/var/tmp (where data
# directories go; must not be tmpfs for a durable figure), BENCH_OUT (raw results),
# BENCH_SERVER_ARGS (extra parleyd flags).
#
# BENCH_SLOW is 200, not 1,000: a client that never reads holds up to tcp_wmem's maximum (4 MB
# here) of kernel send buffer before the server's own queue (--ws-max-queue, 1 MiB) even starts
# to fill, and the kernel's TCP memory is one pool for the whole machine (tcp_mem: 2.25 GB at most
# on the 24 GB VM). 200 take ~0.8 GB and are all closed within the phase; 1,000 at 500 msg/s would
# push every TCP socket of the machine into memory pressure. BENCH_SLOW=1000 BENCH_SLOW_RATE=60
# stays under it (~0.9 GB; nobody is closed within 10 s).
set -euo pipefail
cd "$(dirname "$0")/.."

BUILD=${BUILD:-build}
PARLEYD=$BUILD/parleyd
LOADGEN=$BUILD/loadgen
SCENARIOS=${BENCH_SCENARIOS:-latency sweep throughput fanout storm slow idle footprint ceiling routing}
SYNC=${BENCH_SYNC:-full}
VISITORS=${BENCH_VISITORS:-1000}
RATE=${BENCH_RATE:-500}
DURATION=${BENCH_DURATION:-10}
SWEEP_VISITORS=${BENCH_SWEEP_VISITORS:-1000}
SWEEP_RATES=${BENCH_SWEEP_RATES:-500,1000,2000,3000,5000,7000,10000,14000,20000}
SWEEP_DURATION=${BENCH_SWEEP_DURATION:-5}
THROUGHPUT_VISITORS=${BENCH_THROUGHPUT_VISITORS:-1000}
THROUGHPUT_WINDOW=${BENCH_THROUGHPUT_WINDOW:-1000}
THROUGHPUT_DURATION=${BENCH_THROUGHPUT_DURATION:-5}
FANOUT_AGENTS=${BENCH_FANOUT_AGENTS:-10000}
FANOUT_VISITORS=${BENCH_FANOUT_VISITORS:-20}
FANOUT_RATES=${BENCH_FANOUT_RATES:-1,2,3,5,10,20,30,50}
FANOUT_DURATION=${BENCH_FANOUT_DURATION:-3}
FANOUT_P99_MS=${BENCH_FANOUT_P99_MS:-1000}
STORM_VISITORS=${BENCH_STORM_VISITORS:-10000}
STORM_MISSED=${BENCH_STORM_MISSED:-3}
SLOW=${BENCH_SLOW:-200}
SLOW_VISITORS=${BENCH_SLOW_VISITORS:-1000}
SLOW_RATE=${BENCH_SLOW_RATE:-500}
SLOW_DURATION=${BENCH_SLOW_DURATION:-10}
CEILING_SECONDS=${BENCH_CEILING_SECONDS:-2}
CEILING_GROUPS=${BENCH_CEILING_GROUPS:-1,10,100,1000}
CEILING_BATCH=${BENCH_CEILING_BATCH:-1}
IDLE=${BENCH_IDLE:-10000}
IDLE_SESSIONS=${BENCH_IDLE_SESSIONS:-2000}
IDLE_HOLD=${BENCH_IDLE_HOLD:-5}
BENCH_DIR=${BENCH_DIR:-/var/tmp}
SERVER_ARGS=${BENCH_SERVER_ARGS:-}
SWEEP_MAX=
EMAIL=admin@example.com
PASSWORD=admin-password-123

for f in "$PARLEYD" "$LOADGEN"; do
  [ -x "$f" ] || { echo "bench: $f is missing; build it with: make build && cmake --build $BUILD --target loadgen" >&2; exit 1; }
done
if grep -q 'PARLEY_SANITIZE:BOOL=ON' "$BUILD/CMakeCache.txt" 2>/dev/null; then
  echo "bench: $BUILD is a sanitizer build; the figures need the release build" >&2
  exit 1
fi

OUT=${BENCH_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/parley-bench.XXXXXX")}
mkdir -p "$OUT"
fstype=$(stat -f -c %T "$BENCH_DIR")
[ "$fstype" = tmpfs ] && echo "bench: warning: $BENCH_DIR is tmpfs, so fsync costs nothing; set BENCH_DIR to a disk" >&2

# Every process this script starts is recorded here and stopped on exit, by pid.
SERVER_PID=
DATA=
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  [ -n "$DATA" ] && rm -rf "$DATA"
  SERVER_PID=''
  DATA=''
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The server and the load generator each need a descriptor per connection; raise the soft limit
# to the hard one (parleyd does this itself as well).
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# start_server NAME: a fresh parleyd on a free port; sets SERVER_PID and PORT.
start_server() {
  local name=$1
  DATA=$(mktemp -d "$BENCH_DIR/parley-bench-data.XXXXXX")
  # shellcheck disable=SC2086 # SERVER_ARGS is a list of flags
  "$PARLEYD" --listen 127.0.0.1:0 --data-dir "$DATA" --admin-email "$EMAIL" \
    --admin-password "$PASSWORD" --log-level warn --sync "$SYNC" --ws-max-per-user 100000 $SERVER_ARGS \
    >"$OUT/$name.server.log" 2>&1 &
  SERVER_PID=$!
  PORT=
  for _ in $(seq 100); do
    PORT=$(sed -n 's|^listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$OUT/$name.server.log" | head -1)
    [ -n "$PORT" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$PORT" ]; then
    echo "bench: parleyd did not start; its log:" >&2
    cat "$OUT/$name.server.log" >&2
    exit 1
  fi
}

metrics() { curl -s "http://127.0.0.1:$PORT/metrics" >"$1" || true; }

# kv LINE KEY: the value of KEY in a key=value line.
kv() { printf '%s\n' "$1" | tr ' ' '\n' | sed -n "s/^$2=//p" | head -1; }
ms() { awk -v us="${1:-0}" 'BEGIN { printf "%.2f ms", us / 1000 }'; }

# store_delta BEFORE AFTER: group commits, mean group size and mean commit time between snapshots.
store_delta() {
  awk '
    FNR == NR { a[$1] = $2; next }
    { b[$1] = $2 }
    END {
      c = b["parley_store_commit_seconds_count"] - a["parley_store_commit_seconds_count"]
      s = b["parley_store_commit_seconds_sum"] - a["parley_store_commit_seconds_sum"]
      g = b["parley_store_group_size_sum"] - a["parley_store_group_size_sum"]
      if (c > 0) printf "commits=%d jobs_per_commit=%.1f commit_ms_mean=%.2f", c, g / c, s / c * 1000
    }' "$1" "$2"
}

ROWS=()
row() { ROWS+=("$1|$2|$3|$4"); }
verdict() { if [ "$1" = 1 ]; then echo met; else echo "not met"; fi; }
# BUSY: the most CPU that other processes took, plus what the hypervisor stole, during any phase
# (100 = one core). The load generator already shares the two cores with the server; a build or a
# test run on top, or a noisy host, skews the tail.
BUSY=0
busy() {
  local b
  while read -r b; do
    [ "$b" -gt "$BUSY" ] && BUSY=$b
  done < <(sed -n 's/.*others_cpu_pct=\([0-9]*\) steal_pct=\([0-9]*\).*/\1 \2/p' "$@" | awk '{ print $1 + $2 }')
  return 0
}

run_latency() {
  start_server latency
  metrics "$OUT/latency.metrics.before"
  "$LOADGEN" --mode latency --port "$PORT" --email "$EMAIL" --password "$PASSWORD" \
    --visitors "$VISITORS" --rate "$RATE" --duration "$DURATION" --pid "$SERVER_PID" \
    --conc-http 32 --timeout 300 >"$OUT/latency.txt" 2>"$OUT/latency.err" || true
  metrics "$OUT/latency.metrics.after"
  cleanup
  local l store
  l=$(grep '^mode=latency' "$OUT/latency.txt" || true)
  store=$(store_delta "$OUT/latency.metrics.before" "$OUT/latency.metrics.after")
  echo "latency: $l" >&2
  echo "latency: store $store" >&2
  if [ -z "$l" ]; then
    row "latency" "run" "completes" "FAILED: $(tail -1 "$OUT/latency.err")"
    return
  fi
  busy "$OUT/latency.txt"
  local p99 ok
  p99=$(kv "$l" p99_us)
  ok=$([ "$p99" -lt 10000 ] && echo 1 || echo 0)
  row "latency $VISITORS visitors, $RATE msg/s" "p50 send -> agent" "-" "$(ms "$(kv "$l" p50_us)")"
  row "" "p99 send -> agent" "< 10 ms (issue 3)" "$(ms "$p99") ($(verdict "$ok"))"
  row "" "p99 send -> ack" "< 10 ms" "$(ms "$(kv "$l" ack_p99_us)")"
  row "" "max send -> agent" "-" "$(ms "$(kv "$l" max_us)")"
  row "" "sent / received / lost / errors" "lost 0" \
    "$(kv "$l" sent) / $(kv "$l" received) / $(kv "$l" lost) / $(kv "$l" errors)"
  row "" "server CPU (100 = 1 core)" "-" "$(kv "$l" server_cpu_pct)% (others on the box $(kv "$l" others_cpu_pct)%)"
  row "" "store" "-" "$store"
}

run_sweep() {
  start_server sweep
  "$LOADGEN" --mode sweep --port "$PORT" --email "$EMAIL" --password "$PASSWORD" \
    --visitors "$SWEEP_VISITORS" --rates "$SWEEP_RATES" --duration "$SWEEP_DURATION" \
    --pid "$SERVER_PID" --conc-http 32 --timeout 600 >"$OUT/sweep.txt" 2>"$OUT/sweep.err" || true
  cleanup
  grep '^mode=sweep' "$OUT/sweep.txt" | sed 's/^/sweep: /' >&2 || true
  busy "$OUT/sweep.txt"
  local l
  l=$(grep '^mode=sweep ' "$OUT/sweep.txt" || true)
  if [ -z "$l" ]; then
    row "sweep" "run" "completes" "FAILED: $(tail -1 "$OUT/sweep.err")"
    return
  fi
  SWEEP_MAX=$(kv "$l" max_rate)
  local steps
  steps=$(grep '^mode=sweep_\(step\|retry\)' "$OUT/sweep.txt" | while read -r s; do
    printf '%s%s:%s ' "$(case $s in mode=sweep_retry*) echo "again ";; esac)" "$(kv "$s" rate)" \
      "$(ms "$(kv "$s" p99_us)" | tr -d ' ')"; done)
  row "sweep $SWEEP_VISITORS visitors, ${SWEEP_DURATION} s per rate" \
    "largest msg/s with p99 < 10 ms" "5000 with 10k visitors (issue 6)" \
    "$(kv "$l" max_rate) (next failed: $(kv "$l" first_fail_rate), $(kv "$l" fail_reason))"
  row "" "p99 per rate (msg/s:p99)" "-" "$steps"
}

run_idle() {
  start_server idle
  "$LOADGEN" --mode idle --port "$PORT" --email "$EMAIL" --password "$PASSWORD" \
    --visitors "$IDLE" --sessions "$IDLE_SESSIONS" --hold "$IDLE_HOLD" --pid "$SERVER_PID" \
    --conc-http 32 --timeout 300 >"$OUT/idle.txt" 2>"$OUT/idle.err" || true
  cleanup
  local l
  l=$(grep '^mode=idle' "$OUT/idle.txt" || true)
  echo "idle: $l" >&2
  busy "$OUT/idle.txt"
  if [ -z "$l" ]; then
    row "idle" "run" "completes" "FAILED: $(tail -1 "$OUT/idle.err")"
    return
  fi
  local ok
  ok=$([ "$(kv "$l" open_after_hold)" = "$IDLE" ] && echo 1 || echo 0)
  row "idle $IDLE visitor WebSockets" "established / failed / open after ${IDLE_HOLD} s" "$IDLE / 0 / $IDLE" \
    "$(kv "$l" established) / $(kv "$l" failed) / $(kv "$l" open_after_hold) ($(verdict "$ok"))"
  row "" "time to open all (hello received)" "-" \
    "$(kv "$l" connect_s) s ($(kv "$l" connect_rate)/s)"
  row "" "server RSS per connection" "<= 3 KB (issue 6)" "$(kv "$l" rss_per_conn_b) B"
  row "" "kernel slab per connection (both ends)" "~8 KB (4 KB per socket)" "$(kv "$l" slab_per_conn_b) B"
}

# Figures the ratio rows at the end need (set by the scenarios that produce them).
DURABLE_PS=
DURABLE_FROM=
FANOUT_DPS=
FANOUT_FRAME_B=
CEIL_ROWS=
CEIL_SEND=

# lg ARGS: loadgen against the current server (the admin of account 1, CPU and RSS by pid).
lg() { "$LOADGEN" --port "$PORT" --email "$EMAIL" --password "$PASSWORD" --pid "$SERVER_PID" "$@"; }

# failed NAME: the row of a run that printed no result line.
failed() { row "$1" "run" "completes" "FAILED: $(tail -1 "$OUT/$1.err" 2>/dev/null)"; }

# ge A B: 1 if A >= B (numbers, possibly fractional).
ge() { awk -v a="${1:-0}" -v b="${2:-0}" 'BEGIN { print (a + 0 >= b + 0) ? 1 : 0 }'; }
mb() { awk -v k="${1:-0}" 'BEGIN { printf "%.0f MB", k / 1024 }'; }
div() { awk -v a="${1:-0}" -v b="${2:-0}" -v f="${3:-%.2f}" 'BEGIN { if (b + 0 > 0) printf f, a / b; else printf "-" }'; }

run_throughput() {
  start_server throughput
  metrics "$OUT/throughput.metrics.before"
  lg --mode throughput --visitors "$THROUGHPUT_VISITORS" --window "$THROUGHPUT_WINDOW" \
    --duration "$THROUGHPUT_DURATION" --conc-http 32 --timeout 300 \
    >"$OUT/throughput.txt" 2>"$OUT/throughput.err" || true
  metrics "$OUT/throughput.metrics.after"
  cleanup
  local l store
  l=$(grep '^mode=throughput' "$OUT/throughput.txt" || true)
  store=$(store_delta "$OUT/throughput.metrics.before" "$OUT/throughput.metrics.after")
  echo "throughput: $l" >&2
  [ -z "$l" ] && { failed throughput; return; }
  busy "$OUT/throughput.txt"
  DURABLE_PS=$(kv "$l" durable_per_s)
  DURABLE_FROM="throughput"
  row "throughput $THROUGHPUT_VISITORS visitors, $THROUGHPUT_WINDOW in flight, ${THROUGHPUT_DURATION} s" \
    "durable msg/s (acked after commit)" "50,000 with --sync full (issue 6)" \
    "$DURABLE_PS ($(verdict "$(ge "$DURABLE_PS" 50000)"))"
  row "" "delivered to the agent /s" "-" "$(kv "$l" deliveries_per_s)"
  row "" "p50 / p99 send -> ack (queueing: window / rate)" "-" \
    "$(ms "$(kv "$l" ack_p50_us)") / $(ms "$(kv "$l" ack_p99_us)")"
  row "" "sent / acked / lost / errors (busy)" "lost 0" \
    "$(kv "$l" sent) / $(kv "$l" acked) / $(kv "$l" lost) / $(kv "$l" errors) ($(kv "$l" busy))"
  row "" "server CPU (busiest thread)" "-" \
    "$(kv "$l" server_cpu_pct)% ($(kv "$l" server_busiest_thread_pct)%)"
  row "" "store" "-" "$store"
}

run_fanout() {
  start_server fanout
  lg --mode fanout --agents "$FANOUT_AGENTS" --visitors "$FANOUT_VISITORS" --rates "$FANOUT_RATES" \
    --duration "$FANOUT_DURATION" --p99-ms "$FANOUT_P99_MS" --refine 1 --drain 5 --timeout 400 \
    >"$OUT/fanout.txt" 2>"$OUT/fanout.err" || true
  cleanup
  grep '^mode=fanout' "$OUT/fanout.txt" | sed 's/^/fanout: /' | cut -c1-400 >&2 || true
  local l
  l=$(grep '^mode=fanout ' "$OUT/fanout.txt" || true)
  [ -z "$l" ] && { failed fanout; return; }
  busy "$OUT/fanout.txt"
  local best b steps
  best=$(kv "$l" max_rate)
  b=$(grep -E "^mode=fanout_(step|retry) .* rate=$best " "$OUT/fanout.txt" | tail -1 || true)
  FANOUT_DPS=$(kv "$l" max_deliveries_per_s)
  FANOUT_FRAME_B=$(kv "$(grep -E '^mode=fanout_(step|retry) ' "$OUT/fanout.txt" | head -1)" created_frame_b)
  steps=$(grep -E '^mode=fanout_(step|retry) ' "$OUT/fanout.txt" | while read -r s; do
    printf '%s%s:%s/%s ' "$(case $s in mode=fanout_retry*) echo "again ";; esac)" "$(kv "$s" rate)" \
      "$(kv "$s" deliveries_per_s)" "$(ms "$(kv "$s" p99_us)" | tr -d ' ')"; done)
  local ok
  local next="every rate passed"
  [ "$(kv "$l" first_fail_rate)" != 0 ] && next="next failed: $(kv "$l" first_fail_rate) msg/s ($(kv "$l" fail_reason))"
  ok=$([ "$(kv "$l" agents)" -ge 10000 ] && [ "$(ge "$FANOUT_DPS" 300000)" = 1 ] && echo 1 || echo 0)
  row "fanout $FANOUT_AGENTS agent sockets, $FANOUT_VISITORS visitors" \
    "largest deliveries/s kept up with" "300,000 to 10,000 sockets (issue 6)" \
    "$FANOUT_DPS at $best msg/s ($(verdict "$ok")); $next"
  if [ -n "$b" ]; then
    row "" "at that rate: p50 / p99 / max send -> agent copy" "-" \
      "$(ms "$(kv "$b" p50_us)") / $(ms "$(kv "$b" p99_us)") / $(ms "$(kv "$b" max_us)")"
    row "" "at that rate: server CPU (busiest thread), loadgen" "-" \
      "$(kv "$b" server_cpu_pct)% ($(kv "$b" server_busiest_thread_pct)%), $(kv "$b" loadgen_cpu_pct)%"
  fi
  row "" "per rate (msg/s:deliveries/s/p99)" "-" "$steps"
  row "" "agents connected / failed / time" "all" \
    "$(kv "$l" agents) / $(kv "$l" agents_failed) / $(kv "$l" agents_connect_s) s; $(kv "$l" rss_per_agent_b) B server RSS each"
  row "" "seq gaps / repeats over all agents; frame size" "0 / 0" \
    "$(kv "$l" seq_gaps) / $(kv "$l" seq_dups); ${FANOUT_FRAME_B} B per message.created to an agent"
}

run_storm() {
  start_server storm
  lg --mode storm --visitors "$STORM_VISITORS" --missed "$STORM_MISSED" --conc-http 32 --timeout 400 \
    >"$OUT/storm.txt" 2>"$OUT/storm.err" || true
  cleanup
  local l
  l=$(grep '^mode=storm' "$OUT/storm.txt" || true)
  echo "storm: $l" >&2
  [ -z "$l" ] && { failed storm; return; }
  busy "$OUT/storm.txt"
  local v c bad ok
  v=$STORM_VISITORS
  c=$(kv "$l" complete_ms)
  bad=$(for k in missing duplicates seq_repeats wrong_order foreign; do kv "$l" $k; done |
    awk '{ s += $1 } END { print s + 0 }')
  ok=$([ "$bad" = 0 ] && [ "$(kv "$l" reconnected)" = "$v" ] && [ "${c:--1}" != -1 ] &&
    [ "$(ge 3000 "$c")" = 1 ] && echo 1 || echo 0)
  row "storm $v visitors reconnect, $STORM_MISSED missed each" "all missed events delivered, once" \
    "10,000 within 3 s (issue 6)" "$c ms ($(verdict "$ok"))"
  row "" "per visitor: p50 / p99 / max" "-" \
    "$(kv "$l" p50_ms) / $(kv "$l" p99_ms) / $(kv "$l" max_ms) ms; all hellos in $(kv "$l" hello_all_ms) ms"
  row "" "missing / duplicates / seq repeats / out of order / foreign" "0 / 0 / 0 / 0 / 0" \
    "$(kv "$l" missing) / $(kv "$l" duplicates) / $(kv "$l" seq_repeats) / $(kv "$l" wrong_order) / $(kv "$l" foreign)"
  row "" "reconnected / turned away (1013, retried) / failed" "$v / 0 / 0" \
    "$(kv "$l" reconnected) / $(kv "$l" busy_closes) / $(kv "$l" reconnect_failed)"
  row "" "set-up: conversations opened/s; agent replies/s" "-" \
    "$(awk -v v="$v" -v s="$(kv "$l" open_s)" 'BEGIN { if (s > 0) printf "%.0f", v / s }'); $(kv "$l" replies_per_s)"
  row "" "server CPU (busiest thread) during the storm" "-" \
    "$(kv "$l" server_cpu_pct)% ($(kv "$l" server_busiest_thread_pct)%); RSS $(kv "$l" server_rss_kb_before) -> $(kv "$l" server_rss_kb_after) KB"
}

run_slow() {
  start_server slow
  lg --mode slow --visitors "$SLOW_VISITORS" --slow "$SLOW" --rate "$SLOW_RATE" \
    --duration "$SLOW_DURATION" --hold 5 --conc-http 32 --timeout 300 \
    >"$OUT/slow.txt" 2>"$OUT/slow.err" || true
  cleanup
  local l
  l=$(grep '^mode=slow ' "$OUT/slow.txt" || true)
  echo "slow: $l" >&2
  [ -z "$l" ] && { failed slow; return; }
  busy "$OUT/slow.txt"
  local p99 ok q peak after
  p99=$(kv "$l" loaded_p99_us)
  ok=$([ "${p99:-0}" -lt 10000 ] && echo 1 || echo 0)
  q=$(printf '%s\n' "$SERVER_ARGS" | sed -n 's/.*--ws-max-queue[= ]\([0-9]*\).*/\1/p')
  q=${q:-1048576}
  peak=$(kv "$l" server_rss_kb_loaded_max)
  after=$(kv "$l" server_rss_kb_after)
  row "slow $SLOW non-reading agent sockets, $SLOW_VISITORS visitors, $SLOW_RATE msg/s" \
    "p50 / p99 send -> agent: without / with them" "p99 < 10 ms, as without" \
    "$(ms "$(kv "$l" baseline_p50_us)") / $(ms "$(kv "$l" baseline_p99_us)") -> $(ms "$(kv "$l" loaded_p50_us)") / $(ms "$p99") ($(verdict "$ok"))"
  row "" "slow clients closed by the server (in phase / +5 s)" "all $SLOW (they never read)" \
    "$(kv "$l" slow_closed_in_phase) / $(kv "$l" slow_closed)"
  # bounded: the peak's growth within the slow clients' queues (+25% for allocator slack, +64 MB)
  ok=$(awk -v s="$SLOW" -v q="$q" -v p="${peak:-0}" -v b="$(kv "$l" server_rss_kb_before)" \
    'BEGIN { print (p - b <= s * q / 1024 * 1.25 + 65536) ? 1 : 0 }')
  row "" "server RSS: before / peak / 5 s after" "peak <= slow x ws-max-queue" \
    "$(mb "$(kv "$l" server_rss_kb_before)") / $(mb "$peak") / $(mb "$after") ($(verdict "$ok"))"
  row "" "kernel TCP memory (machine): before / peak / after" "-" \
    "$(mb "$(kv "$l" tcp_mem_kb_before)") / $(mb "$(kv "$l" tcp_mem_kb_loaded_max)") / $(mb "$(kv "$l" tcp_mem_kb_after)")"
  row "" "lost / errors with them" "0 / 0" "$(kv "$l" loaded_lost) / $(kv "$l" loaded_errors)"
}

# up NAME DATA: starts parleyd on DATA; sets SERVER_PID, PORT and UP_MS (exec to /healthz
# answering 200, -1 if it never did).
up() {
  local name=$1 t0
  t0=$(date +%s%N)
  # shellcheck disable=SC2086 # SERVER_ARGS is a list of flags
  "$PARLEYD" --listen 127.0.0.1:0 --data-dir "$2" --admin-email "$EMAIL" \
    --admin-password "$PASSWORD" --log-level warn --sync "$SYNC" --ws-max-per-user 100000 $SERVER_ARGS \
    >"$OUT/$name.server.log" 2>&1 &
  SERVER_PID=$!
  PORT=
  UP_MS=-1
  for _ in $(seq 3000); do
    [ -z "$PORT" ] && PORT=$(sed -n 's|^listening on http://127.0.0.1:\([0-9]*\).*|\1|p' "$OUT/$name.server.log" | head -1)
    if [ -n "$PORT" ] && curl -sf -o /dev/null "http://127.0.0.1:$PORT/healthz"; then
      UP_MS=$((($(date +%s%N) - t0) / 1000000))
      return
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || return
    sleep 0.002
  done
}

run_footprint() {
  local first restart rss hwm size text
  DATA=$(mktemp -d "$BENCH_DIR/parley-bench-data.XXXXXX")
  up footprint "$DATA"
  first=$UP_MS
  sleep 1
  rss=$(sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$SERVER_PID/status" 2>/dev/null || true)
  hwm=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$SERVER_PID/status" 2>/dev/null || true)
  kill "$SERVER_PID" 2>/dev/null || true
  wait "$SERVER_PID" 2>/dev/null || true
  up footprint.restart "$DATA"
  restart=$UP_MS
  cleanup
  size=$(stat -L -c %s "$PARLEYD")
  text=$(size "$PARLEYD" 2>/dev/null | awk 'NR == 2 { print $1 + $2 + $3 }' || true)
  echo "footprint: size=$size text_data_bss=${text:-?} startup_ms=$first restart_ms=$restart rss_kb=${rss:-?} hwm_kb=${hwm:-?}" |
    tee "$OUT/footprint.txt" >&2
  row "footprint" "parleyd file size (code + data + bss)" "-" \
    "$(awk -v b="$size" 'BEGIN { printf "%.2f MB", b / 1048576 }') (${text:-?} B; $(grep -q 'CMAKE_BUILD_TYPE:STRING=RelWithDebInfo' "$BUILD/CMakeCache.txt" 2>/dev/null && echo 'RelWithDebInfo: the file includes debug info' || echo 'as built'))"
  row "" "start-up: exec -> /healthz 200 (new data / restart)" "-" "$first ms / $restart ms"
  row "" "RSS 1 s after start (peak so far)" "-" \
    "$(awk -v k="${rss:-0}" -v h="${hwm:-0}" 'BEGIN { printf "%.1f MB (%.1f MB)", k / 1024, h / 1024 }')"
}

run_ceiling() {
  local sq=$BUILD/sqlite_ceiling sc=$BUILD/send_ceiling
  if [ ! -x "$sq" ] && [ ! -x "$sc" ]; then
    echo "ceiling: skipped, $sq and $sc are not built" >&2
    row "ceiling" "machine ceilings" "-" "skipped: sqlite_ceiling and send_ceiling are not built in $BUILD"
    return
  fi
  if [ -x "$sq" ]; then
    "$sq" --dir "$BENCH_DIR" --groups "$CEILING_GROUPS" --seconds "$CEILING_SECONDS" --sync "$SYNC" \
      >"$OUT/ceiling_sqlite.txt" 2>"$OUT/ceiling_sqlite.err" || true
    local l
    l=$(grep '^mode=sqlite_ceiling_summary' "$OUT/ceiling_sqlite.txt" || true)
    echo "ceiling: $l" >&2
    if [ -n "$l" ]; then
      CEIL_ROWS=$(kv "$l" ceiling_rows_per_s)
      row "ceiling: SQLite, --sync $SYNC" "durable rows/s (group size)" "-" \
        "$CEIL_ROWS (group $(kv "$l" at_group)); one row per commit: $(kv "$l" single_tx_per_s)/s"
    else
      failed ceiling_sqlite
    fi
  else
    row "ceiling: SQLite" "run" "-" "skipped: $sq is not built"
  fi
  if [ -x "$sc" ]; then
    "$sc" --conns "$FANOUT_AGENTS" --seconds "$CEILING_SECONDS" --frame-bytes "${FANOUT_FRAME_B:-1040}" \
      --batch "$CEILING_BATCH" >"$OUT/ceiling_send.txt" 2>"$OUT/ceiling_send.err" || true
    local s
    s=$(grep '^mode=send_ceiling' "$OUT/ceiling_send.txt" || true)
    echo "ceiling: $s" >&2
    if [ -n "$s" ]; then
      CEIL_SEND=$(kv "$s" deliveries_per_s)
      row "ceiling: raw send, $FANOUT_AGENTS sockets" "frames/s ($(kv "$s" frame_bytes) B, $CEILING_BATCH per send)" "-" \
        "$CEIL_SEND (sender CPU $(kv "$s" sender_cpu_pct)%, receiver $(kv "$s" receiver_cpu_pct)%)"
    else
      failed ceiling_send
    fi
  else
    row "ceiling: raw send" "run" "-" "skipped: $sc is not built"
  fi
}

# ratios: the server's figures against the machine's ceilings, when both were measured.
ratios() {
  if [ -z "$DURABLE_PS" ] && [ -n "$SWEEP_MAX" ]; then
    DURABLE_PS=$SWEEP_MAX
    DURABLE_FROM="sweep's largest rate"
  fi
  if [ -n "$CEIL_ROWS" ] && [ -n "$DURABLE_PS" ]; then
    row "ratio" "durable msg/s ($DURABLE_FROM) / SQLite ceiling rows/s" "-" \
      "$DURABLE_PS / $CEIL_ROWS = $(div "$DURABLE_PS" "$CEIL_ROWS" %.3f)"
  fi
  if [ -n "$CEIL_SEND" ] && [ -n "$FANOUT_DPS" ]; then
    row "" "fanout deliveries/s / raw send frames/s" "-" \
      "$FANOUT_DPS / $CEIL_SEND = $(div "$FANOUT_DPS" "$CEIL_SEND" %.3f)"
  fi
}

run_routing() {
  local sim=$BUILD/route_sim
  [ -x "$sim" ] || { row "routing" "run" "completes" "FAILED: $sim missing"; return; }
  "$sim" > "$OUT/routing.txt"
  cat "$OUT/routing.txt" >&2
  local l
  l=$(tr '\n' ' ' < "$OUT/routing.txt")
  local pe we
  pe=$(kv "$l" p_wait_error_pct)
  we=$(kv "$l" mean_wait_error_pct)
  row "routing M/M/10, rho 0.85" "P(wait>0) sim vs Erlang C" "within 5%" \
    "$(kv "$l" sim_p_wait) vs $(kv "$l" erlang_c_p_wait) (${pe}%, $(verdict "$(awk -v e="$pe" 'BEGIN{print (e<5)}')"))"
  row "" "mean wait sim vs Erlang C" "within 5%" \
    "$(kv "$l" sim_mean_wait_s) s vs $(kv "$l" erlang_c_mean_wait_s) s (${we}%, $(verdict "$(awk -v e="$we" 'BEGIN{print (e<5)}')"))"
  row "" "router decisions/s (one core)" "-" "$(kv "$l" decisions_per_s)"
  row "routing mixed skills" "transfers: round robin / weighted" "weighted fewer" \
    "$(kv "$l" round_robin_transfer_pct)% / $(kv "$l" weighted_transfer_pct)% (cut $(kv "$l" transfers_cut_pct)%)"
}

echo "bench: parleyd --sync $SYNC; data in $BENCH_DIR ($fstype); raw results in $OUT" >&2
for s in $SCENARIOS; do
  case $s in
  latency) run_latency ;;
  sweep) run_sweep ;;
  throughput) run_throughput ;;
  fanout) run_fanout ;;
  storm) run_storm ;;
  slow) run_slow ;;
  idle) run_idle ;;
  footprint) run_footprint ;;
  ceiling) run_ceiling ;;
  routing) run_routing ;;
  *) echo "bench: unknown scenario $s" >&2; exit 1 ;;
  esac
done
ratios

echo
echo "Parley conversation benchmarks ($(nproc) CPUs, --sync $SYNC, $(date -u +%Y-%m-%dT%H:%MZ))"
{
  echo "scenario|figure|target|result"
  echo "--------|------|------|------"
  printf '%s\n' "${ROWS[@]}"
} | column -t -s '|'
echo
if [ "$BUSY" -gt 15 ]; then
  echo "note: other processes and the hypervisor (steal) took up to $BUSY% CPU (100 = one core)"
  echo "      during a phase, which skews the tail figures. Rerun on a quiet machine to compare"
  echo "      with docs/performance.md."
fi
echo "raw key=value lines, server logs and /metrics: $OUT"
