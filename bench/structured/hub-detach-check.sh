#!/usr/bin/env bash
# Bundles hub-detach-check.ts with the resolve worker next to it and runs it under --trace-protector-invalidation.
# Usage: bash bench/structured/hub-detach-check.sh [OUT_DIR=/tmp/serval-hub-detach-check]
set -euo pipefail
out=${1:-/tmp/serval-hub-detach-check}
mkdir -p "$out"
banner="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
npx esbuild bench/structured/hub-detach-check.ts --bundle --platform=node --format=esm --target=node20 --log-level=warning \
  --outfile="$out/hub-detach-check.mjs" --banner:js="$banner"
npx esbuild src/hub/resolve-worker.ts --bundle --platform=node --format=esm --target=node20 --log-level=warning \
  --outfile="$out/resolve-worker.js" --banner:js="$banner"
node --trace-protector-invalidation "$out/hub-detach-check.mjs"
