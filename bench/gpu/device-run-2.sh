#!/usr/bin/env bash
# Second GPU call (after device-run.sh): the host cost per engine step on the GPU machine's CPU (host-step-probe,
# no GPU work) and the 7B run at vLLM's temperature 1 (64 requests), which the first call's time limits cut off.
set -uo pipefail
. .device/on-device.sh
(cmake -S native -B /tmp/serval-build -DNODE_INCLUDE="$NODE_HEADERS_DIR" -DCMAKE_CUDA_ARCHITECTURES=90 \
  -DCMAKE_BUILD_TYPE=Release && cmake --build /tmp/serval-build -j16) > /tmp/build.log 2>&1 || { tail -30 /tmp/build.log; exit 1; }
export SERVAL_NATIVE_ADDON=/tmp/serval-build/serval_native.node
export SERVAL_TOKENIZER_DIR=$PWD/build/gpu/tokenizer
lscpu | grep -E "Model name|^CPU\(s\)" | tee "$OUT/run2.log"
timeout 60 node build/gpu/host-step-probe.mjs 256 32 2>&1 | grep -v "^\[" | tee -a "$OUT/run2.log"
timeout 150 node build/gpu/run-gpu.mjs throughput Qwen2.5-7B "$OUT/throughput-Qwen2.5-7B-t1.json" 64:1 >> "$OUT/run2.log" 2>&1
echo "rc=$?" >> "$OUT/run2.log"
tail -8 "$OUT/run2.log" | cut -c1-400
