#!/usr/bin/env bash
# Runs every test suite against the sanitizer build and ends with one summary line:
#   test: N passed, N failed, N skipped
# Suites: unit (cmocka under ctest), fuzz (each libFuzzer harness for FUZZ_SMOKE seconds, default 10,
# plus its regression inputs; one test per harness), integ (node --test, real binary), e2e (node
# --test, real Chromium).
set -uo pipefail
cd "$(dirname "$0")/.."
export PARLEY_BIN=${PARLEY_BIN:-$PWD/build-asan/parleyd}
out=$(mktemp -d)
pass=0 fail=0 skip=0 failed_suites=()

count_node() { # suite-name tap-file exit-code
  local p f s
  p=$(grep -E '^# pass ' "$2" | tail -1 | awk '{print $3}')
  f=$(grep -E '^# fail ' "$2" | tail -1 | awk '{print $3}')
  s=$(grep -E '^# (skipped|skip|todo) ' "$2" | awk '{s+=$3} END {print s+0}')
  p=${p:-0} f=${f:-0}
  if [ "$3" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi   # crashed runner: count it
  pass=$((pass + p)) fail=$((fail + f)) skip=$((skip + s))
  [ "$f" -eq 0 ] || failed_suites+=("$1")
  echo "$1: $p passed, $f failed"
}

echo "== unit tests (cmocka, ASan+UBSan)"
(cd build-asan && ctest --output-on-failure -j 2) > "$out/unit.txt" 2>&1
rc=$?
cat "$out/unit.txt" | grep -E 'Test +#|tests passed|FAILED|Failed' | tail -40
up=$(grep -cE 'Test +#[0-9]+: .* Passed' "$out/unit.txt")
uf=$(grep -cE 'Test +#[0-9]+: .* (\*\*\*Failed|Failed|\*\*\*Exception|\*\*\*Timeout)' "$out/unit.txt")
if [ $rc -ne 0 ] && [ "$uf" -eq 0 ]; then uf=1; cat "$out/unit.txt"; fi
[ "$uf" -eq 0 ] || { failed_suites+=(unit); sed -n '/Output from these tests/,$p;/FAILED/,+20p' "$out/unit.txt" | head -200; }
pass=$((pass + up)) fail=$((fail + uf))
echo "unit: $up passed, $uf failed"

echo "== fuzz harnesses (libFuzzer, ASan+UBSan, ${FUZZ_SMOKE:-10} s each, and their regression inputs)"
scripts/fuzz.sh smoke > "$out/fuzz.txt" 2>&1
cat "$out/fuzz.txt"
fp=$(grep -cE '^fuzz: fuzz_[a-z_]+ ok' "$out/fuzz.txt")
ff=$(grep -cE '^fuzz: (fuzz_[a-z_]+ FAILED|known .* no longer reproduces)' "$out/fuzz.txt")
fs=$(grep -cE '^fuzz: (fuzz_[a-z_]+ skipped|known .* still open)' "$out/fuzz.txt")
pass=$((pass + fp)) fail=$((fail + ff)) skip=$((skip + fs))
[ "$ff" -eq 0 ] || failed_suites+=(fuzz)
echo "fuzz: $fp passed, $ff failed, $fs skipped (known open findings: tests/fuzz/known/README.md)"

if ls tests/integ/*.test.mjs >/dev/null 2>&1; then
  echo "== integration tests (real parleyd)"
  node --test --test-reporter=spec --test-reporter-destination=stdout \
       --test-reporter=tap --test-reporter-destination="$out/integ.tap" tests/integ/ 2>&1 \
    | grep -vE '^\s*$' | grep -E '✖|✔|ℹ|not ok|Error|assert' | grep -v '^  *✔' | tail -150
  count_node integ "$out/integ.tap" "${PIPESTATUS[0]}"
fi

if ls tests/e2e/*.test.mjs >/dev/null 2>&1; then
  echo "== browser tests (Chromium)"
  if [ ! -d tests/e2e/node_modules ] || [ tests/e2e/package-lock.json -nt tests/e2e/node_modules/.package-lock.json ]; then
    (cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)
  fi
  (cd tests/e2e && node --test --test-reporter=spec --test-reporter-destination=stdout \
       --test-reporter=tap --test-reporter-destination="$out/e2e.tap" ./*.test.mjs) 2>&1 | tail -60
  count_node e2e "$out/e2e.tap" "${PIPESTATUS[0]}"
fi

rm -rf "$out"
[ ${#failed_suites[@]} -eq 0 ] || echo "failing suites: ${failed_suites[*]}"
echo "test: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
