#!/usr/bin/env bash
# The libFuzzer harnesses of tests/fuzz, built with clang into build-fuzz/ (ASan + UBSan).
#   scripts/fuzz.sh build            configure and build them
#   scripts/fuzz.sh run [names...]   fuzz each for FUZZ_TIME seconds (default 60), one at a time;
#                                    prints the executions of each; non-zero if one crashed (its
#                                    input is kept in build-fuzz/crashes/<harness>/)
#   scripts/fuzz.sh smoke            for scripts/test.sh: FUZZ_SMOKE seconds each (default 10) and
#                                    the regression inputs; one line per harness:
#                                    "fuzz: <harness> ok|FAILED ..." then "fuzz: known ..." lines
#   scripts/fuzz.sh regress          only the regression inputs (tests/fuzz/regressions/<harness>/)
#   scripts/fuzz.sh known            the known open findings (tests/fuzz/known/<harness>/): each
#                                    should still reproduce with PARLEY_FUZZ_STRICT=1
# Names are harness names (fuzz_http ...); default all. One fuzzing process at a time, under nice:
# the machine is shared. New inputs a run finds go to build-fuzz/corpus/<harness>/ (the committed
# seeds in tests/fuzz/corpus/ are only read).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
mode=${1:-run}
shift || true
B=build-fuzz
F=tests/fuzz
all=()
for f in "$F"/fuzz_*.c; do all+=("$(basename "$f" .c)"); done
names=("$@")
[ ${#names[@]} -gt 0 ] || names=("${all[@]}")

# Per harness: its dictionary and largest input.
opts() {
  case "$1" in
    fuzz_http) echo "-dict=$F/http.dict -max_len=4096" ;;
    fuzz_ws) echo "-dict=$F/ws.dict -max_len=8192" ;;
    fuzz_json_bodies) echo "-dict=$F/json.dict -max_len=4096" ;;
    fuzz_markdown) echo "-dict=$F/markdown.dict -max_len=16384" ;;
    *) [ -f "$F/${1#fuzz_}.dict" ] && echo "-dict=$F/${1#fuzz_}.dict" ;;
  esac
}

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

build() {
  if ! command -v clang >/dev/null 2>&1; then
    echo "fuzz: clang is not installed (scripts/deps.sh test installs clang and libclang-rt-14-dev)" >&2
    return 2
  fi
  local log
  log=$(mktemp)
  if cmake -S . -B "$B" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug -DPARLEY_FUZZ=ON >"$log" 2>&1 &&
    nice cmake --build "$B" -j "${JOBS:-$(nproc)}" --target fuzz >>"$log" 2>&1; then
    rm -f "$log"
    return 0
  fi
  grep -E 'error|Error' "$log" | head -20 >&2
  tail -3 "$log" >&2
  rm -f "$log"
  return 1
}

# fuzz_one NAME SECONDS LOG: one bounded run. Returns libFuzzer's exit status.
fuzz_one() {
  local h=$1 t=$2 log=$3
  mkdir -p "$B/corpus/$h" "$B/crashes/$h"
  local seeds=()
  [ -d "$F/corpus/$h" ] && seeds+=("$F/corpus/$h")
  # shellcheck disable=SC2046
  nice -n 10 "$B/$h" $(opts "$h") -max_total_time="$t" -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$B/crashes/$h/" "$B/corpus/$h" "${seeds[@]}" >"$log" 2>&1
}

# executions LOG: how many inputs the run executed.
executions() {
  local n
  n=$(grep -E '^stat::number_of_executed_units:' "$1" | tail -1 | awk '{print $2}')
  [ -n "$n" ] || n=$(grep -oE '^#[0-9]+' "$1" | tail -1 | tr -d '#')
  echo "${n:-0}"
}

crash_report() { # LOG: the sanitizer's summary and where the input is
  grep -E 'ERROR: |SUMMARY: |runtime error|fuzz_[a-z_]+: |net_harness: |Test unit written to' "$1" | head -8 | sed 's/^/    /'
}

# regress_one NAME: runs each regression input once; prints how many (and the failure).
regress_one() {
  local h=$1 d="$F/regressions/$1"
  local files=()
  [ -d "$d" ] && while IFS= read -r f; do files+=("$f"); done < <(find "$d" -type f ! -name '*.md' | sort)
  [ ${#files[@]} -gt 0 ] || { echo 0; return 0; }
  local log
  log=$(mktemp)
  # shellcheck disable=SC2046
  if "$B/$h" $(opts "$h") -runs=1 "${files[@]}" >"$log" 2>&1; then
    echo "${#files[@]}"
    rm -f "$log"
    return 0
  fi
  echo "${#files[@]} (FAILED)"
  crash_report "$log" >&2
  rm -f "$log"
  return 1
}

need_build() { # configures and builds, or brings the build up to date (quick when it is)
  build
}

case "$mode" in
  build)
    build
    ;;
  run)
    need_build || exit 1
    T=${FUZZ_TIME:-60}
    rc=0
    summary=()
    for h in "${names[@]}"; do
      log="$B/$h.log"
      echo "== $h: fuzzing for $T s (log: $log)"
      fuzz_one "$h" "$T" "$log"
      st=$?
      n=$(executions "$log")
      if [ $st -eq 0 ]; then
        summary+=("$(printf '%-18s %12s executions in %s s: ok' "$h" "$n" "$T")")
      else
        rc=1
        art=$(grep -oE 'Test unit written to \S+' "$log" | tail -1 | awk '{print $5}')
        summary+=("$(printf '%-18s %12s executions: CRASH, input in %s' "$h" "$n" "${art:-$log}")")
        crash_report "$log"
        echo "   minimise: $B/$h -minimize_crash=1 -runs=20000 $art; then add it to $F/regressions/$h/"
      fi
    done
    echo "== fuzz summary"
    printf '%s\n' "${summary[@]}"
    exit $rc
    ;;
  smoke)
    blog=$(mktemp)
    if ! need_build >"$blog" 2>&1; then
      # without clang there is nothing to fuzz with (skipped); with it, a build that fails is a
      # failure of the change (a harness or a core file clang refuses)
      verdict=FAILED
      command -v clang >/dev/null 2>&1 || verdict=skipped
      for h in "${names[@]}"; do echo "fuzz: $h $verdict (no fuzz build: $(tail -1 "$blog"))"; done
      cat "$blog" >&2
      rm -f "$blog"
      exit 0
    fi
    rm -f "$blog"
    T=${FUZZ_SMOKE:-10}
    for h in "${names[@]}"; do
      log="$B/$h.smoke.log"
      if ! r=$(regress_one "$h" 2>"$log.regress"); then
        echo "fuzz: $h FAILED: a regression input crashes again"
        sed 's/^/  /' "$log.regress"
        continue
      fi
      if fuzz_one "$h" "$T" "$log"; then
        echo "fuzz: $h ok ($(executions "$log") executions in $T s, $r regression inputs)"
      else
        echo "fuzz: $h FAILED: a crash in $T s of fuzzing"
        crash_report "$log"
      fi
    done
    "$0" known "${names[@]}"
    exit 0
    ;;
  regress)
    need_build || exit 1
    rc=0
    for h in "${names[@]}"; do
      if r=$(regress_one "$h"); then echo "fuzz: $h: $r regression inputs pass"; else echo "fuzz: $h: $r"; rc=1; fi
    done
    exit $rc
    ;;
  known)
    need_build || exit 1
    for h in "${names[@]}"; do
      [ -d "$F/known/$h" ] || continue
      # each input comes with NAME.expect: a line its failure prints (so it fails the known way)
      for f in $(find "$F/known/$h" -type f ! -name '*.md' ! -name '*.expect' | sort); do
        out=$(PARLEY_FUZZ_STRICT=1 "$B/$h" -runs=1 "$f" 2>&1)
        if grep -qF -f "$f.expect" <<<"$out"; then
          echo "fuzz: known $h/$(basename "$f") still open (tests/fuzz/known/README.md)"
        else
          echo "fuzz: known $h/$(basename "$f") no longer reproduces: fixed? move it to $F/regressions/$h/"
        fi
      done
    done
    ;;
  *)
    echo "usage: scripts/fuzz.sh build|run|smoke|regress|known [harness...]" >&2
    exit 2
    ;;
esac
