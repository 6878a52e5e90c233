#!/usr/bin/env bash
# Prepares a GPU-machine run of the native backend (that machine has no Node packages): bundles the check script and
# the CUDA test file into build/gpu/, and packs Node (.device/). Then, with the `run` tool:
#   carry: [".device", "node_modules/node-addon-api", "build/gpu"]
#   command: bash bench/native/device-run.sh   (builds the addon with plain cmake, runs the tests and the check)
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p build/gpu
npx esbuild bench/native/cuda-check.ts --bundle --platform=node --format=esm --target=node20 --outfile=build/gpu/cuda-check.mjs --log-level=warning
npx esbuild test/native/cuda-backend.test.ts --bundle --platform=node --format=esm --target=node20 --outfile=build/gpu/cuda-backend.test.mjs --log-level=warning
npx esbuild test/native/cuda-attention.test.ts --bundle --platform=node --format=esm --target=node20 --outfile=build/gpu/cuda-attention.test.mjs --log-level=warning
bash ../shared/device/pack-node.sh
