#!/usr/bin/env bash
# Runs on the GPU machine (see bundle-for-device.sh): builds the addon for sm_90 with plain cmake, runs the CUDA test
# files (GPU test mode: the device tests are not skipped there), the attention kernel check (attention-check.cu) and the
# correctness + timing check.
# Logs and results go to $OUT. Extra arguments go to cuda-check (shape names, e.g. Qwen2.5-7B).
set -uo pipefail
. .device/on-device.sh
(cmake -S native -B /tmp/serval-build -DNODE_INCLUDE="$NODE_HEADERS_DIR" -DCMAKE_CUDA_ARCHITECTURES=90 \
  -DCMAKE_BUILD_TYPE=Release && cmake --build /tmp/serval-build -j16) > "$OUT/build.log" 2>&1 || {
  tail -30 "$OUT/build.log"
  exit 1
}
# attention kernels in isolation: new vs legacy kernel on random paged batches, and per-layer timings (7B shape)
"$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)" -std=c++17 -O3 -arch=sm_90 -I native bench/native/attention-check.cu native/cuda/attention_dispatch.cu \
  native/cuda/attention_flash_prefill.cu native/cuda/attention_split_decode.cu native/cuda/kernels_attention.cu \
  -o /tmp/attention-check > "$OUT/attention-check-build.log" 2>&1 && /tmp/attention-check 2>&1 | tee "$OUT/attention-check.log" | cut -c1-300
export SERVAL_NATIVE_ADDON=/tmp/serval-build/serval_native.node
node --test build/gpu/cuda-backend.test.mjs build/gpu/cuda-attention.test.mjs 2>&1 | tee "$OUT/gpu-tests.log" | grep -E "^# (pass|fail|skipped)|^not ok" || true
node build/gpu/cuda-check.mjs "$OUT" "$@" 2>&1 | tee "$OUT/check.log" | cut -c1-400
if command -v nsys >/dev/null 2>&1; then
  SERVAL_PROFILE_ONLY=1 nsys profile -t cuda --cuda-graph-trace=node -o /tmp/serval-decode -f true \
    node build/gpu/cuda-check.mjs "$OUT/profile" > "$OUT/nsys-run.log" 2>&1 &&
    nsys stats -r cuda_gpu_kern_sum /tmp/serval-decode.nsys-rep 2>/dev/null | head -40 > "$OUT/nsys-kernels.txt"
  head -25 "$OUT/nsys-kernels.txt" | cut -c1-220
else
  echo "nsys not available: no kernel profile"
fi
