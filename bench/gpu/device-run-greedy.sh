#!/usr/bin/env bash
# Runs on the GPU machine (see bundle-greedy.sh): builds the addon for sm_90, runs the CUDA test files (GPU greedy
# sampling included) and the engine stress GPU test, then the 7B offline throughput (dummy weights, greedy, with and
# without the cpe schema). Argument: requests per run (default 512). Logs and results go to $OUT.
set -uo pipefail
N=${1:-512}
. bench/gpu/device-common.sh build/gpu-greedy
phase gpu-tests 120 node --test $BUNDLE/cuda-greedy-sampling.test.mjs $BUNDLE/cuda-backend.test.mjs $BUNDLE/cuda-attention.test.mjs $BUNDLE/engine-stress.test.mjs
phase throughput-7B 200 node $BUNDLE/run-gpu.mjs throughput Qwen2.5-7B "$OUT/throughput-Qwen2.5-7B-gpu-greedy.json" "$N:0" "$N:0:guided"
grep -E "^# (pass|fail|skipped)|^not ok|^=== |guided=|Error|error" "$OUT/run.log" | cut -c1-400 | tail -60
