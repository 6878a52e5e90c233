#!/usr/bin/env bash
# Runs on the GPU machine (see bundle-sampling.sh): builds the addon for sm_90 from the bundle's native/, runs every
# CUDA test file, the decode-step GPU-time scan (rows × context, both attention paths), then the offline throughput
# runs with per-step phase timers (SERVAL_CUDA_PROFILE=1): 7B and 0.5B, plain and guided, greedy and temperature 1,
# N requests each (default 1000). With PROFILE_ONLY=1: only the 7B plain greedy and T=1 runs, under --cpu-prof
# (summarized into $OUT); with RUNS_7B="N:T[:guided] ...": only those 7B runs. Logs and results go to $OUT.
set -uo pipefail
B=${1:-.dev-cuda-sampling}
N=${2:-1000}
. "$B/device-common.sh" "$B" "$B/native"
export SERVAL_CUDA_PROFILE=1
phase gpu-tests 60 node --test "$B/cuda-sampling.test.mjs" "$B/cuda-sampling-backend.test.mjs" "$B/cuda-backend.test.mjs" \
  "$B/cuda-attention.test.mjs" "$B/engine-stress.test.mjs"
if [ -n "${RUNS_7B:-}" ]; then
  # shellcheck disable=SC2086
  phase throughput-7B 300 node "$B/run-gpu.mjs" throughput Qwen2.5-7B "$OUT/throughput-Qwen2.5-7B.json" $RUNS_7B
elif [ "${PROFILE_ONLY:-0}" = 1 ]; then
  phase profile-7B 200 node --cpu-prof --cpu-prof-dir=/tmp/prof "$B/run-gpu.mjs" throughput Qwen2.5-7B "$OUT/throughput-Qwen2.5-7B.json" "$N:0" "$N:1"
  p=$(ls -S /tmp/prof/*.cpuprofile 2>/dev/null | head -1)
  [ -n "$p" ] && node "$B/cpuprofile-summary.mjs" "$p" 45 > "$OUT/cpuprofile-7B.txt" 2>&1
else
  phase decode-scaling-7B 50 node "$B/run-gpu.mjs" decode-scaling Qwen2.5-7B "$OUT/decode-scaling-Qwen2.5-7B.json"
  SERVAL_ATTENTION=legacy phase decode-scaling-7B-legacy 40 node "$B/run-gpu.mjs" decode-scaling Qwen2.5-7B "$OUT/decode-scaling-Qwen2.5-7B-legacy-attention.json"
  phase throughput-7B 250 node "$B/run-gpu.mjs" throughput Qwen2.5-7B "$OUT/throughput-Qwen2.5-7B.json" "$N:0" "$N:0:guided" "$N:1" "$N:1:guided"
  phase throughput-0.5B 165 node "$B/run-gpu.mjs" throughput Qwen2.5-0.5B "$OUT/throughput-Qwen2.5-0.5B.json" "$N:0" "$N:0:guided" "$N:1" "$N:1:guided"
fi
grep -E "^# (pass|fail|skipped)|^not ok|^=== |guided=|step profile|rows .* context|Error|error" "$OUT/run.log" | cut -c1-1800 | tail -90
