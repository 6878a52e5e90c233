#!/usr/bin/env bash
# Batch-1 decode run on the GPU machine (prepared by decode-bundle.sh; run from the checkout's root with the bundle
# folder B as first argument). Builds this tree's addon and the base commit's side by side (plain cmake, sm_90) and
# gemv-check.cu (this tree's decode kernels + the base's), then: gemv-check (kernel equality, device-only decode step
# base vs this, PDL on/off); every CUDA test file; cuda-check (bf16 vs ts correctness + batch-1 decode timings vs
# the floor) with this addon (PDL on and off) and with the base addon. Logs and JSON go to $OUT. Further arguments:
# shape names for gemv-check and cuda-check (default: all four Qwen2.5 shapes).
# SERVAL_STEPS (default "gemv,tests,check,base") picks the steps; SERVAL_BASE_PARTS (default "decode") the base
# addon's cuda-check parts ("correctness,decode": the bf16-vs-ts accuracy before/after on the same card too).
set -uo pipefail
B=${1:-.dev-decode}
shift || true
. .device/on-device.sh
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm --format=csv | tee "$OUT/run.log"
STEPS=",${SERVAL_STEPS:-gemv,tests,check,base},"
has() { [[ "$STEPS" == *",$1,"* ]]; }
t0=$(date +%s)
build() {  # build(native source dir, build dir)
  cmake -S "$1" -B "$2" -DNODE_INCLUDE="$NODE_HEADERS_DIR" -DNODE_ADDON_API_DIR="$PWD/node_modules/node-addon-api" \
    -DCMAKE_CUDA_ARCHITECTURES=90 -DCMAKE_BUILD_TYPE=Release && cmake --build "$2" -j8
}
build "$B/native" /tmp/dec-this > "$OUT/build.log" 2>&1 &
thisPid=$!
if has base; then build "$B/base-native" /tmp/dec-base > /tmp/dec-base-build.log 2>&1 & fi
if has gemv; then
  mkdir -p /tmp/gemv-obj
  srcs=("$B/bench/native/gemv-check.cu" "$B"/native/cuda/{kernels_gemv,kernels_elementwise,kernels_attention,attention_dispatch,attention_split_decode,attention_flash_prefill}.cu "$B"/base-kernels/*.cu)
  for f in "${srcs[@]}"; do
    o=/tmp/gemv-obj/$(echo "$f" | tr '/.' '__').o
    nvcc -std=c++17 -O3 -arch=sm_90 -I "$B/native" -c "$f" -o "$o" > "$o.log" 2>&1 &
  done
fi
wait $thisPid || { tail -30 "$OUT/build.log"; exit 1; }
wait
echo "builds: $(( $(date +%s) - t0 )) s" | tee -a "$OUT/run.log"
if has gemv; then
  cat /tmp/gemv-obj/*.log
  nvcc -arch=sm_90 /tmp/gemv-obj/*.o -o /tmp/gemv-check && {
    for s in ${*:-Qwen2.5-7B Qwen2.5-0.5B Qwen2.5-1.5B Qwen2.5-14B}; do timeout 120 /tmp/gemv-check "$s"; done 2>&1 |
      tee "$OUT/gemv-check.log" | grep -E '"(decodeStep|bandwidth|gemvCheck|device)"|"ok":false' | cut -c1-900
    echo "checks: $(grep -c '"ok":true' "$OUT/gemv-check.log") ok, $(grep -c '"ok":false' "$OUT/gemv-check.log") failed"
  }
fi
export SERVAL_NATIVE_ADDON=/tmp/dec-this/serval_native.node
export SERVAL_TOKENIZER_DIR=$PWD/$B/tokenizer
if has tests; then
  timeout 200 node --test "$B"/js/*.test.mjs > "$OUT/gpu-tests.log" 2>&1
  grep -E "^# (pass|fail|skipped)|^not ok" "$OUT/gpu-tests.log"
fi
variants=graphsGreedy,graphsSkinnyGemm,eagerSkinnyGemm,graphsGreedyPdlOff,graphsSkinnyGemmPdlOff
if has check; then
  SERVAL_CHECK_PARTS=correctness,decode SERVAL_DECODE_VARIANTS=$variants timeout 200 node "$B/js/cuda-check.mjs" /tmp/cc-this "$@" \
    > "$OUT/check.log" 2>&1
  cp /tmp/cc-this/cuda-check.json "$OUT/cuda-check.json"
  grep -E "^correctness|^decode" "$OUT/check.log" | sed -E 's/"greedyTokens":\[[^]]*\],?//; s/,"memory":\{[^}]*\}//' | cut -c1-330
fi
if has base && [ -f /tmp/dec-base/serval_native.node ]; then
  echo "base $(cat "$B/base-commit.txt")"
  SERVAL_NATIVE_ADDON=/tmp/dec-base/serval_native.node SERVAL_CHECK_PARTS=${SERVAL_BASE_PARTS:-decode} SERVAL_DECODE_VARIANTS=graphsGreedy,graphsSkinnyGemm,eagerSkinnyGemm \
    timeout 150 node "$B/js/cuda-check.mjs" /tmp/cc-base "$@" > "$OUT/base-check.log" 2>&1
  cp /tmp/cc-base/cuda-check.json "$OUT/base-cuda-check.json"
  grep -E "^correctness|^decode" "$OUT/base-check.log" | sed -E 's/"greedyTokens":\[[^]]*\],?//; s/,"memory":\{[^}]*\}//' | cut -c1-330
fi
echo "total: $(( $(date +%s) - t0 )) s"
