#!/usr/bin/env bash
# Prepares the decode-attention device run (attn-device-run.sh) in DEST (default /work/main/.dev-attn, git-ignored
# there: the `run` tool sends /work/main's tree): everything bundle-graphs.sh bundles (native sources, CUDA test files,
# run-gpu.ts, the workers, the tokenizer, device-common.sh), plus the --dtype test file, decode-steps.ts,
# attention-check.cu and the base commit's native/ (default: the merge base with main) for the before/after. Then, with
# the `run` tool: carry [".device", "node_modules/node-addon-api", ".dev-attn"], command:
#   bash .dev-attn/attn-device-run.sh .dev-attn
set -euo pipefail
cd "$(dirname "$0")/../.."
dest=$(realpath -m "${1:-/work/main/.dev-attn}")
BASE=${SERVAL_BASE:-$(git merge-base HEAD main)}
bash bench/native/bundle-graphs.sh "$dest"
banner="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
bundle() { npx esbuild "$1" --bundle --platform=node --format=esm --target=node20 --outfile="$dest/$2" --log-level=warning --banner:js="$banner"; }
bundle test/native/cuda-dtype.test.ts cuda-dtype.test.mjs
bundle bench/native/decode-steps.ts decode-steps.mjs
cp bench/native/attention-check.cu bench/native/attn-device-run.sh "$dest/"
mkdir -p "$dest/base-native"
git archive "$BASE" native | tar -x -C "$dest/base-native" --strip-components=1
echo "$BASE" > "$dest/base-commit.txt"
du -sh "$dest"
