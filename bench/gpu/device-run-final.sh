#!/usr/bin/env bash
# Issue 6 measurement run, part 1 (part 2: serve-bench-device.sh), on the GPU machine. Prepared here by
#   bash bench/gpu/bundle-sampling.sh /work/main/.dev-final && bash bench/gpu/bundle-final.sh /work/main/.dev-final
# then the `run` tool: carry [".device", "node_modules/node-addon-api", ".dev-final"],
#   command: bash .dev-final/device-run-final.sh .dev-final
# Builds the addon from the bundle's native/, runs every CUDA test file, the bf16-vs-ts correctness check and the
# batch-1 decode timings (bench/native/cuda-check.ts), then the offline JSON-extraction throughput (1000 requests;
# 7B: greedy and temperature 1, plain and guided; 0.5B greedy, plain and guided) with per-step phase timers.
set -uo pipefail
B=${1:-.dev-final}
. "$B/device-common.sh" "$B" "$B/native"
phase gpu-tests 300 node --test "$B"/*.test.mjs
SERVAL_CHECK_PARTS=correctness,decode phase cuda-check 150 node "$B/cuda-check.mjs" /tmp/cuda-check
cp /tmp/cuda-check/cuda-check.json "$OUT/cuda-check.json" 2> /dev/null
export SERVAL_CUDA_PROFILE=1
# RUNS_7B / RUNS_05B override the runs (N:temperature[:guided] ...; none skips that shape)
# shellcheck disable=SC2086
[ "${RUNS_7B:-}" = none ] || phase throughput-7B 260 node "$B/run-gpu.mjs" throughput Qwen2.5-7B "$OUT/throughput-Qwen2.5-7B.json" ${RUNS_7B:-1000:0 1000:0:guided 1000:1 1000:1:guided}
# shellcheck disable=SC2086
[ "${RUNS_05B:-}" = none ] || phase throughput-0.5B 90 node "$B/run-gpu.mjs" throughput Qwen2.5-0.5B "$OUT/throughput-Qwen2.5-0.5B.json" ${RUNS_05B:-1000:0 1000:0:guided}
grep -E "^# (pass|fail|skipped)|^not ok|^=== |guided=|^correctness|^decode |Error|error" "$OUT/run.log" | cut -c1-700 | tail -60
