#!/usr/bin/env bash
# Runs on the GPU machine (see bundle-greedy.sh): builds the addon for sm_90, runs the CUDA test files (GPU greedy
# sampling included) and the engine stress GPU test, then the 7B offline throughput (dummy weights, greedy, with and
# without the cpe schema). Argument: requests per run (default 512). Logs and results go to $OUT.
set -uo pipefail
N=${1:-512}
. .device/on-device.sh
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm --format=csv | tee "$OUT/run.log"
t0=$(date +%s)
(cmake -S native -B /tmp/serval-build -DNODE_INCLUDE="$NODE_HEADERS_DIR" -DCMAKE_CUDA_ARCHITECTURES=90 \
  -DCMAKE_BUILD_TYPE=Release && cmake --build /tmp/serval-build -j16) > "$OUT/build.log" 2>&1 || {
  tail -30 "$OUT/build.log"
  exit 1
}
echo "build: $(( $(date +%s) - t0 )) s" | tee -a "$OUT/run.log"
export SERVAL_NATIVE_ADDON=/tmp/serval-build/serval_native.node
export SERVAL_TOKENIZER_DIR=$PWD/build/gpu-greedy/tokenizer
B=build/gpu-greedy
phase() { # name limit_s command...
  local name=$1 limit=$2; shift 2
  local s=$(date +%s)
  echo "=== $name (limit ${limit}s)" >> "$OUT/run.log"
  timeout "$limit" "$@" >> "$OUT/run.log" 2>&1
  local rc=$?
  echo "=== $name: rc=$rc, $(( $(date +%s) - s )) s" | tee -a "$OUT/run.log"
}
phase gpu-tests 120 node --test $B/cuda-greedy-sampling.test.mjs $B/cuda-backend.test.mjs $B/cuda-attention.test.mjs $B/engine-stress.test.mjs
phase throughput-7B 200 node $B/run-gpu.mjs throughput Qwen2.5-7B "$OUT/throughput-Qwen2.5-7B-gpu-greedy.json" "$N:0" "$N:0:guided"
grep -E "^# (pass|fail|skipped)|^not ok|^=== |guided=|Error|error" "$OUT/run.log" | cut -c1-400 | tail -60
