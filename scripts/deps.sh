#!/usr/bin/env bash
# Installs the Debian packages Parley needs, only those missing (fast when all are there).
#   scripts/deps.sh build   libraries and tools to build and run parleyd (and Node.js for web/)
#   scripts/deps.sh test    the above plus what the tests use: cmocka, PostgreSQL, Redis, nginx, Chromium,
#                           clang and its runtime (libFuzzer, sanitizers) for the fuzz harnesses
set -euo pipefail
mode=${1:-build}

pkgs=(build-essential cmake pkg-config git
      libuv1-dev libhttp-parser-dev libwslay-dev libssl-dev libsqlite3-dev libpq-dev libhiredis-dev
      libcurl4-openssl-dev libsodium-dev libjansson-dev)
if [ "$mode" = test ]; then
  pkgs+=(libcmocka-dev postgresql redis-server nginx-light chromium fonts-wqy-microhei wrk sqlite3 iproute2
         clang libclang-rt-14-dev)
fi
command -v node >/dev/null 2>&1 || pkgs+=(nodejs npm)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "deps: these Debian packages are missing and installing them needs root: ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: done"
