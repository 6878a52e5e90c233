#!/usr/bin/env bash
# Runs on the GPU machine (see bundle-graphs.sh): builds the addon for sm_90 from the bundle's native/, runs the CUDA
# test files (padded replay == eager among them), the decode-graph measurements (padded vs exact-size graphs, capture
# time and memory, max-model-len stride), the cuBLASLt new-shape host time (exact vs bucketed algorithms) and the 7B
# offline throughput sanity run (1000 requests, plain, greedy). Logs and results go to $OUT.
set -uo pipefail
B=${1:-.dev-graphs}
. "$B/device-common.sh" "$B" "$B/native"
phase gpu-tests 90 node --test "$B/cuda-backend.test.mjs" "$B/cuda-attention.test.mjs" "$B/cuda-sampling.test.mjs" \
  "$B/cuda-sampling-backend.test.mjs" "$B/engine-stress.test.mjs"
# PADDING_OPTION=no-max-stride skips the max-model-len stride comparison
phase decode-padding-7B 110 node "$B/decode-graphs.mjs" padding Qwen2.5-7B "$OUT/decode-graphs-Qwen2.5-7B.json" ${PADDING_OPTION:-}
phase gemm-shapes-7B 60 node "$B/decode-graphs.mjs" gemm-shapes Qwen2.5-7B "$OUT/gemm-shapes-Qwen2.5-7B.json"
SERVAL_CUDA_PROFILE=1 phase throughput-7B 130 node "$B/run-gpu.mjs" throughput Qwen2.5-7B "$OUT/throughput-Qwen2.5-7B.json" 1000:0
grep -E "^# (pass|fail|skipped)|^not ok|^=== |guided=|captured|cuda|padded/exact|capture:|SERVAL_GEMM|Error|error" "$OUT/run.log" | cut -c1-600 | tail -60
