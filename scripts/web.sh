#!/usr/bin/env bash
# Builds the browser apps in web/ (npm ci when node_modules is missing or stale, then npm run build).
set -euo pipefail
cd "$(dirname "$0")/../web"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
# Rebuild only when a source file is newer than the last build.
if [ ! -f dist/index.html ] || [ -n "$(find src index.html package.json vite.config.* widget vite.widget.config.ts public -newer dist/index.html 2>/dev/null | head -1)" ]; then
  npm run build --silent
fi
