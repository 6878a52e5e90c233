#!/usr/bin/env bash
# Runs on the GPU machine (see attn-bundle.sh): the tensor-core GQA decode attention's checks and before/after.
# Builds this tree's addon (device-common.sh), the base commit's and this tree's with SERVAL_GEMV_MAX_TOKENS=1 (every
# decode step of 2+ rows on cuBLASLt) side by side, and attention-check.cu; then per step (ATTN_STEPS, default all of
# tests,basetests,check,steps,stepsbase,gemv,throughput,throughputbase):
#   tests: the CUDA test files; basetests: the --dtype test file on the base build (failures that predate this tree);
#   check: attention-check (kernel equality + per-layer decode grid);
#   steps / stepsbase: 7B decode step GPU time, rows ATTN_ROWS x contexts ATTN_CONTEXTS, this build / the base build;
#   gemv: rows 1..9 at context 512 on the SERVAL_GEMV_MAX_TOKENS=1 build (the kGemvMaxTokens choice);
#   throughput / throughputbase: 7B offline throughput (1000 requests, plain), this build / the base build.
# Logs and results go to $OUT (at most 8 files).
set -uo pipefail
B=${1:-.dev-attn}
STEPS=",${ATTN_STEPS:-tests,basetests,check,steps,stepsbase,gemv,throughput,throughputbase},"
ROWS=${ATTN_ROWS:-1-9,16,64,66,128,133,256}
CONTEXTS=${ATTN_CONTEXTS:-512,2048}
has() { [[ "$STEPS" == *",$1,"* ]]; }
. .device/on-device.sh
nvcc_() { "$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)" "$@"; }
side() {  # side(source dir, build dir, extra flags): a second addon build in the background
  cmake -S "$1" -B "$2" -DNODE_INCLUDE="$NODE_HEADERS_DIR" -DCMAKE_CUDA_ARCHITECTURES=90 \
    -DNODE_ADDON_API_DIR="$PWD/node_modules/node-addon-api" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CUDA_FLAGS="$3" -DCMAKE_CXX_FLAGS="$3" > "/tmp/$(basename "$2").log" 2>&1 &&
    cmake --build "$2" -j5 >> "/tmp/$(basename "$2").log" 2>&1
}
pids=()
if has stepsbase || has throughputbase || has basetests; then side "$B/base-native" /tmp/attn-base "" & pids+=($!); fi
if has gemv; then side "$B/native" /tmp/attn-gemv1 "-DSERVAL_GEMV_MAX_TOKENS=1" & pids+=($!); fi
if has check; then
  nvcc_ -std=c++17 -O3 -arch=sm_90 -I "$B/native" "$B/attention-check.cu" "$B"/native/cuda/attention_dispatch.cu \
    "$B"/native/cuda/attention_flash_prefill.cu "$B"/native/cuda/attention_split_decode.cu \
    "$B"/native/cuda/kernels_attention.cu -o /tmp/attention-check > /tmp/attention-check-build.log 2>&1 &
  pids+=($!)
fi
. "$B/device-common.sh" "$B" "$B/native"
for p in "${pids[@]}"; do wait "$p"; done
echo "side builds: $(( $(date +%s) - t0 )) s; base $(cat "$B/base-commit.txt")" | tee -a "$OUT/run.log"
tail -3 /tmp/attention-check-build.log /tmp/attn-base.log /tmp/attn-gemv1.log 2>/dev/null | grep -iE "error|==>" | head
has tests && phase gpu-tests 150 node --test "$B/cuda-attention.test.mjs" "$B/cuda-backend.test.mjs" "$B/cuda-dtype.test.mjs"
if has basetests; then
  SERVAL_NATIVE_ADDON=/tmp/attn-base/serval_native.node phase gpu-tests-base 90 node --test "$B/cuda-dtype.test.mjs"
fi
if has check; then
  phase attention-check 120 /tmp/attention-check
  grep -E '"ok":false|failures|"device"' "$OUT/run.log" | cut -c1-300
  grep '"decodeGrid"' "$OUT/run.log" > "$OUT/decode-grid.jsonl"
fi
has steps && phase steps-after 90 node "$B/decode-steps.mjs" Qwen2.5-7B "$OUT/steps-after.json" after "$ROWS" "$CONTEXTS"
if has stepsbase; then
  SERVAL_NATIVE_ADDON=/tmp/attn-base/serval_native.node phase steps-base 90 node "$B/decode-steps.mjs" Qwen2.5-7B \
    "$OUT/steps-base.json" base "$ROWS" "$CONTEXTS"
fi
if has gemv; then
  SERVAL_NATIVE_ADDON=/tmp/attn-gemv1/serval_native.node phase steps-gemv1 60 node "$B/decode-steps.mjs" Qwen2.5-7B \
    "$OUT/steps-cublaslt-1-9.json" gemv-max-1 1-9 512
fi
if has throughput; then
  SERVAL_CUDA_PROFILE=1 phase throughput-after 100 node "$B/run-gpu.mjs" throughput Qwen2.5-7B "$OUT/throughput-after.json" 1000:0
fi
if has throughputbase; then
  SERVAL_NATIVE_ADDON=/tmp/attn-base/serval_native.node phase throughput-base 100 node "$B/run-gpu.mjs" throughput \
    Qwen2.5-7B "$OUT/throughput-base.json" 1000:0
fi
grep -E "^# (pass|fail|skipped)|^not ok|^=== |build|Error|error" "$OUT/run.log" | cut -c1-400 | tail -60
grep -h "output_tokens_per_second" "$OUT"/throughput-*.json 2>/dev/null
