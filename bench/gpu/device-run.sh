#!/usr/bin/env bash
# Runs on the GPU machine (see bundle.sh): builds the addon for sm_90, then the engine stress run, the offline
# throughput runs (dummy weights, Qwen2.5-0.5B and -7B shapes, with and without the cpe schema) and the HF
# transformers peer. Every phase has its own time limit; results and logs go to $OUT. Argument: requests per greedy
# throughput run (default 512: the host-side sampler makes 1000 too slow for one 10-minute device call).
set -uo pipefail
N=${1:-512}
. bench/gpu/device-common.sh build/gpu
phase gpu-test 45 node --test build/gpu/engine-stress.test.mjs
phase stress 80 node build/gpu/run-gpu.mjs stress "$OUT/stress.json" 500
# greedy runs at the full request count, one temperature-1 run (host sampler: milliseconds per row, see README)
phase throughput-7B 180 node build/gpu/run-gpu.mjs throughput Qwen2.5-7B "$OUT/throughput-Qwen2.5-7B.json" "$N:0" "$N:0:guided" 64:1
phase throughput-0.5B 100 node build/gpu/run-gpu.mjs throughput Qwen2.5-0.5B "$OUT/throughput-Qwen2.5-0.5B.json" "$N:0" "$N:0:guided" 64:1
phase hf-generate 80 python3 bench/gpu/hf_generate.py "$OUT/hf-generate.json" /tmp/serval-dummy-Qwen2.5-7B /tmp/serval-dummy-Qwen2.5-0.5B
grep -E "^\{|guided=|^=== |Error|error" "$OUT/run.log" | cut -c1-600 | tail -60
