#!/usr/bin/env bash
# Prepares a GPU-machine run of the native backend (that machine has no Node packages) in DEST (default: this
# checkout): the check script and the CUDA test files bundled into DEST/build/gpu/, the native sources, the device
# scripts, and for before/after comparisons the GEMV kernel and native tree of BASE (default: the merge base with
# main). The `run` tool sends the session's main checkout, so a worktree bundles into a git-ignored folder there:
#   bash bench/native/bundle-for-device.sh /work/main/.dev-cuda-kernels
# then `run` with carry [".dev-cuda-kernels", ".device", "node_modules/node-addon-api"] and the command
#   cd .dev-cuda-kernels && bash bench/native/device-run.sh [shape names]
# (run from DEST; device-run.sh links ../.device and ../node_modules when DEST is such a folder).
set -euo pipefail
cd "$(dirname "$0")/../.."
DEST=$(realpath -m "${1:-.}")
BASE=${SERVAL_BASE:-$(git merge-base HEAD main)}
mkdir -p "$DEST/build/gpu"
bundle() { npx esbuild "$1" --bundle --platform=node --format=esm --target=node20 --outfile="$DEST/build/gpu/$2" --log-level=warning; }
bundle bench/native/cuda-check.ts cuda-check.mjs
for t in cuda-backend cuda-attention cuda-greedy-sampling; do bundle "test/native/$t.test.ts" "$t.test.mjs"; done
if [ "$DEST" != "$(pwd)" ]; then
  rm -rf "$DEST/native" "$DEST/bench"
  cp -r native "$DEST/native"
  mkdir -p "$DEST/bench/native" && cp bench/native/*.sh bench/native/*.cu "$DEST/bench/native/"
fi
# the decode GEMV before this branch (kernels_gemv.cu replaced it), for gemv-check.cu's before/after
git show "$BASE:native/cuda/kernels_skinny_gemm.cu" | sed 's/kSkinnyGemmMaxTokens/8/' > "$DEST/build/gpu/skinny_gemm_before.cu"
rm -rf "$DEST/build/gpu/base-native" && mkdir -p "$DEST/build/gpu/base-native"
git archive "$BASE" native | tar -x -C "$DEST/build/gpu/base-native" --strip-components=1
echo "$BASE" > "$DEST/build/gpu/base-commit.txt"
[ -d ../shared/device ] && [ ! -f "$DEST/.device/node.xz" ] && [ "$DEST" = "$(pwd)" ] && bash ../shared/device/pack-node.sh
echo "bundled into $DEST (base $BASE)"
