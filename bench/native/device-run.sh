#!/usr/bin/env bash
# Runs on the GPU machine (see bundle-for-device.sh): builds the addon for sm_90 with plain cmake (and the BASE
# commit's addon, for the model-level before/after), runs the GEMV kernel check (gemv-check.cu), the CUDA test files
# (GPU test mode: the device tests are not skipped there) and the correctness + timing check (cuda-check).
# Logs and results go to $OUT. Extra arguments go to cuda-check (shape names, e.g. Qwen2.5-7B).
# SERVAL_STEPS (default "gemv,tests,check,base") picks the steps; "attention" adds attention-check.cu.
set -uo pipefail
[ -e .device ] || ln -sfn ../.device .device
[ -e node_modules/node-addon-api ] || { mkdir -p node_modules && ln -sfn ../../node_modules/node-addon-api node_modules/node-addon-api; }
. .device/on-device.sh
STEPS=",${SERVAL_STEPS:-gemv,tests,check,base},"
has() { [[ "$STEPS" == *",$1,"* ]]; }
NVCC="$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)"
build() {  # build(source dir, build dir)
  cmake -S "$1" -B "$2" -DNODE_INCLUDE="$NODE_HEADERS_DIR" -DNODE_ADDON_API_DIR="$(pwd)/node_modules/node-addon-api" \
    -DCMAKE_CUDA_ARCHITECTURES=90 -DCMAKE_BUILD_TYPE=Release && cmake --build "$2" -j8
}
build native /tmp/serval-ck-build > "$OUT/build.log" 2>&1 &
buildPid=$!
if has base; then build build/gpu/base-native /tmp/serval-ck-base > /tmp/base-build.log 2>&1 & fi
if has gemv; then
  "$NVCC" -std=c++17 -O3 -arch=sm_90 -I native bench/native/gemv-check.cu native/cuda/kernels_gemv.cu \
    native/cuda/kernels_elementwise.cu native/cuda/kernels_attention.cu native/cuda/attention_dispatch.cu \
    native/cuda/attention_split_decode.cu native/cuda/attention_flash_prefill.cu build/gpu/skinny_gemm_before.cu \
    -o /tmp/gemv-check > /tmp/gemv-check-build.log 2>&1 || cat /tmp/gemv-check-build.log
fi
wait $buildPid || { tail -30 "$OUT/build.log"; exit 1; }
wait
if has gemv; then
  timeout 240 /tmp/gemv-check 2>&1 | tee "$OUT/gemv-check.log" | grep -E '"(check|decodeStep|attentionDecode|bandwidth|gemvCheck|device)"' | grep -v '"ok":true' | cut -c1-400
fi
if has attention; then
  "$NVCC" -std=c++17 -O3 -arch=sm_90 -I native bench/native/attention-check.cu native/cuda/attention_dispatch.cu \
    native/cuda/attention_flash_prefill.cu native/cuda/attention_split_decode.cu native/cuda/kernels_attention.cu \
    -o /tmp/attention-check > /tmp/attention-check-build.log 2>&1 && /tmp/attention-check 2>&1 | tee "$OUT/attention-check.log" | cut -c1-300
fi
export SERVAL_NATIVE_ADDON=/tmp/serval-ck-build/serval_native.node
if has check; then
  timeout 240 node build/gpu/cuda-check.mjs "$OUT" "$@" 2>&1 | tee "$OUT/check.log" | cut -c1-330
fi
if has base && [ -f /tmp/serval-ck-base/serval_native.node ]; then
  echo "base $(cat build/gpu/base-commit.txt)"
  SERVAL_NATIVE_ADDON=/tmp/serval-ck-base/serval_native.node SERVAL_CHECK_PARTS=${SERVAL_BASE_PARTS:-decode} \
    timeout 150 node build/gpu/cuda-check.mjs "$OUT/base" "$@" 2>&1 | tee "$OUT/base-check.log" | cut -c1-330
fi
if has tests; then
  timeout 200 node --test build/gpu/cuda-backend.test.mjs build/gpu/cuda-attention.test.mjs build/gpu/cuda-greedy-sampling.test.mjs 2>&1 |
    tee "$OUT/gpu-tests.log" | grep -E "^# (pass|fail|skipped)|^not ok" || true
fi
