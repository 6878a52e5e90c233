#!/usr/bin/env bash
# Adds what device-run-final.sh needs on top of bundle-sampling.sh's bundle in DEST: the cuda-check bundle and the
# run script itself.
set -euo pipefail
cd "$(dirname "$0")/../.."
dest=${1:-/work/main/.dev-final}
banner="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
npx esbuild bench/native/cuda-check.ts --bundle --platform=node --format=esm --target=node20 \
  --outfile="$dest/cuda-check.mjs" --log-level=warning --banner:js="$banner"
cp bench/gpu/device-run-final.sh "$dest/"
du -sh "$dest"
