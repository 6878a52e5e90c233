#!/usr/bin/env bash
# Prepares the --dtype GPU run (dtype-device-run.sh) in DEST, a git-ignored folder of the checkout the `run` tool
# sends: the native sources and the base commit's (default: the merge base with main; for the bf16 decode
# before/after), the CUDA test files and dtype-check bundled into DEST/build/gpu/, the reference-model maker, the HF
# script and its fixtures. (bundle-for-device.sh also copies the pre-GEMV skinny kernel of its base, which newer bases
# no longer have.)
#   bash bench/native/dtype-bundle.sh /work/main/.dev-dtype
# then `run` with carry [".dev-dtype", ".device", "node_modules/node-addon-api"] and the command
#   cd .dev-dtype && bash bench/native/dtype-device-run.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
DEST=$(realpath -m "${1:?usage: dtype-bundle.sh DEST}")
BASE=${SERVAL_BASE:-$(git merge-base HEAD main)}
mkdir -p "$DEST/build/gpu"
bundle() { npx esbuild "$1" --bundle --platform=node --format=esm --target=node20 --outfile="$DEST/build/gpu/$2" --log-level=warning; }
for t in cuda-dtype cuda-backend cuda-attention; do bundle "test/native/$t.test.ts" "$t.test.mjs"; done
bundle bench/native/dtype-check.ts dtype-check.mjs
bundle scripts/reference/make-models.ts make-models.mjs
rm -rf "$DEST/native" "$DEST/bench" "$DEST/scripts" "$DEST/test" "$DEST/build/gpu/base-native"
cp -r native "$DEST/native"
mkdir -p "$DEST/bench/native" "$DEST/scripts/reference" "$DEST/test/fixtures/reference" "$DEST/build/gpu/base-native"
cp bench/native/dtype-device-run.sh "$DEST/bench/native/"
cp scripts/reference/hf_logprobs.py "$DEST/scripts/reference/"
cp test/fixtures/reference/{inputs,qwen2,qwen3,llama,mistral}.json "$DEST/test/fixtures/reference/"
git archive "$BASE" native | tar -x -C "$DEST/build/gpu/base-native" --strip-components=1
echo "$BASE" > "$DEST/build/gpu/base-commit.txt"
du -sh "$DEST"
