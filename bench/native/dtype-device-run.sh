#!/usr/bin/env bash
# Runs on the GPU machine (see dtype-bundle.sh): builds this tree's addon and the base commit's (sm_90, plain cmake)
# while transformers makes the bf16 reference runs, then the GPU tests (cuda-dtype, and the bf16 forward and attention
# test files: the kernels they run are now templates), the dtype accuracy check (each dtype vs the ts reference and
# vs HF transformers fp32/bf16) and batch-1 decode per dtype, the base build's bf16 decode measured in the same call.
# Logs and result JSON go to $OUT (at most 8 files). DTYPE_STEPS (default hf,tests,check,base) picks the steps:
#   hf: reference checkpoints + HF bf16 runs; tests: GPU tests (DTYPE_TESTS: bundled test files); check: dtype-check
#   correctness,hf,decode; base: bf16 decode of the base build (then this build's again, the other order);
#   prefill: eager prefill step times per dtype.
set -uo pipefail
[ -e .device ] || ln -sfn ../.device .device
[ -e node_modules/node-addon-api ] || { mkdir -p node_modules && ln -sfn ../../node_modules/node-addon-api node_modules/node-addon-api; }
. .device/on-device.sh
STEPS=",${DTYPE_STEPS:-hf,tests,check,base},"
has() { [[ "$STEPS" == *",$1,"* ]]; }
build() {  # build(source dir, build dir)
  cmake -S "$1" -B "$2" -DNODE_INCLUDE="$NODE_HEADERS_DIR" -DNODE_ADDON_API_DIR="$(pwd)/node_modules/node-addon-api" \
    -DCMAKE_CUDA_ARCHITECTURES=90 -DCMAKE_BUILD_TYPE=Release && cmake --build "$2" -j8
}
build native /tmp/dt-build > "$OUT/build.log" 2>&1 &
buildPid=$!
if has base; then build build/gpu/base-native /tmp/dt-base > /tmp/base-build.log 2>&1 & fi
if has hf; then
  {
    node build/gpu/make-models.mjs test/fixtures/reference/inputs.json /tmp/refmodels &&
      PYTHONUNBUFFERED=1 timeout 150 python3 scripts/reference/hf_logprobs.py test/fixtures/reference/inputs.json \
        /tmp/refmodels /tmp/hf-bf16 --dtype bfloat16
  } > /tmp/hf.log 2>&1 &
fi
wait $buildPid || { tail -30 "$OUT/build.log"; exit 1; }
wait
touch /tmp/hf.log /tmp/check.log
export SERVAL_NATIVE_ADDON=/tmp/dt-build/serval_native.node
if has tests; then
  timeout 200 node --test ${DTYPE_TESTS:-build/gpu/cuda-dtype.test.mjs build/gpu/cuda-backend.test.mjs build/gpu/cuda-attention.test.mjs} \
    > "$OUT/gpu-tests.log" 2>&1
  grep -E "^# (pass|fail|skipped)|^not ok|# (float|bfloat)" "$OUT/gpu-tests.log"
fi
if has check; then
  REF_MODELS=/tmp/refmodels HF_BF16_DIR=/tmp/hf-bf16 DTYPE_PARTS=correctness,hf,decode DTYPE_LABEL=dtype-check \
    timeout 200 node build/gpu/dtype-check.mjs "$OUT" 2>&1 | tee -a /tmp/check.log | cut -c1-400
fi
if has base; then  # before/after for bf16 decode: the base build, same card, same call; then this build again
  SERVAL_NATIVE_ADDON=/tmp/dt-base/serval_native.node DTYPE_PARTS=decode DTYPE_DECODE=bfloat16 DTYPE_LABEL=dtype-check-base \
    timeout 60 node build/gpu/dtype-check.mjs "$OUT" 2>&1 | tee -a /tmp/check.log | cut -c1-400
  has check || DTYPE_PARTS=decode DTYPE_DECODE=bfloat16 DTYPE_LABEL=dtype-check-after-base \
    timeout 60 node build/gpu/dtype-check.mjs "$OUT" 2>&1 | tee -a /tmp/check.log | cut -c1-400
fi
if has prefill; then
  DTYPE_PARTS=prefill DTYPE_LABEL=dtype-prefill timeout 90 node build/gpu/dtype-check.mjs "$OUT" 2>&1 | tee -a /tmp/check.log | cut -c1-400
fi
cat /tmp/hf.log /tmp/check.log > "$OUT/check.log"
