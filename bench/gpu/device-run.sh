#!/usr/bin/env bash
# Runs on the GPU machine (see bundle.sh): builds the addon for sm_90, then the engine stress run, the offline
# throughput runs (dummy weights, Qwen2.5-0.5B and -7B shapes, with and without the cpe schema) and the HF
# transformers peer. Every phase has its own time limit; results and logs go to $OUT. Argument: requests per greedy
# throughput run (default 512: the host-side sampler makes 1000 too slow for one 10-minute device call).
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
export SERVAL_TOKENIZER_DIR=$PWD/build/gpu/tokenizer
phase() { # name limit_s command...
  local name=$1 limit=$2; shift 2
  local s=$(date +%s)
  echo "=== $name (limit ${limit}s)" >> "$OUT/run.log"
  timeout "$limit" "$@" >> "$OUT/run.log" 2>&1
  local rc=$?
  echo "=== $name: rc=$rc, $(( $(date +%s) - s )) s" | tee -a "$OUT/run.log"
}
phase gpu-test 45 node --test build/gpu/engine-stress.test.mjs
phase stress 80 node build/gpu/run-gpu.mjs stress "$OUT/stress.json" 500
# greedy runs at the full request count, one temperature-1 run (host sampler: milliseconds per row, see README)
phase throughput-7B 180 node build/gpu/run-gpu.mjs throughput Qwen2.5-7B "$OUT/throughput-Qwen2.5-7B.json" "$N:0" "$N:0:guided" 64:1
phase throughput-0.5B 100 node build/gpu/run-gpu.mjs throughput Qwen2.5-0.5B "$OUT/throughput-Qwen2.5-0.5B.json" "$N:0" "$N:0:guided" 64:1
phase hf-generate 80 python3 bench/gpu/hf_generate.py "$OUT/hf-generate.json" /tmp/serval-dummy-Qwen2.5-7B /tmp/serval-dummy-Qwen2.5-0.5B
grep -E "^\{|guided=|^=== |Error|error" "$OUT/run.log" | cut -c1-600 | tail -60
