#!/usr/bin/env bash
# Adds what device-run-final.sh needs on top of bundle-sampling.sh's bundle in DEST: the cuda-check bundle, the
# worker-thread entry points and the run script itself.
set -euo pipefail
cd "$(dirname "$0")/../.."
dest=${1:-/work/main/.dev-final}
banner="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
npx esbuild bench/native/cuda-check.ts --bundle --platform=node --format=esm --target=node20 \
  --outfile="$dest/cuda-check.mjs" --log-level=warning --banner:js="$banner"
# the worker-thread entry points the bundles start next to themselves (startModuleWorker: `./NAME.js` of the caller)
for w in src/tokenizer/encode-worker.ts src/structured/workers/mask-worker.ts; do
  npx esbuild "$w" --bundle --platform=node --format=esm --target=node20 --outfile="$dest/$(basename "${w%.ts}").js" \
    --log-level=warning --banner:js="$banner"
done
cp bench/gpu/device-run-final.sh "$dest/"
du -sh "$dest"
