#!/usr/bin/env bash
# Runs on the GPU machine (bundle: bundle-serve.sh): where issue 6's guided cost goes. `serval bench throughput` on the
# JSON-extraction workload (7B dummy bf16, 1000 requests, as serve-bench-device.sh) with the cuda backend's per-step
# timers (SERVAL_CUDA_PROFILE=1) and the grammar masks' counters in each result JSON: plain, then guided once per
# extra engine flag set in $GUIDED_VARIANTS ("|"-separated; "" = the defaults), e.g.
#   GUIDED_VARIANTS="|--structured-output-workers 0|--structured-output-mask-grace-ms 5"
# GUIDED_VARIANTS=none skips the guided runs. CHECKS=.dev-final (a bundle of bundle-sampling.sh + bundle-final.sh, its tokenizer/ packed as tokenizer.tar.xz to
# fit the carry limit) first runs every CUDA test file and cuda-check's bf16-vs-ts correctness part from it.
# STRESS_DTYPES / STRESS_N: the 500-request engine stress run per weights dtype (after the checks); CHECKS_ONLY=1 stops
# there. Results come back as $OUT/results.tgz, the log as $OUT/run.log.
set -uo pipefail
tar xJf .dev-serve/node_modules.tar.xz
tar xJf .dev-serve/models.tar.xz -C .dev-serve
if [ -n "${CHECKS:-}" ]; then
  mkdir -p "$CHECKS/tokenizer" && tar xJf "$CHECKS/tokenizer.tar.xz" -C "$CHECKS/tokenizer"
  . bench/gpu/device-common.sh "$CHECKS"
  phase gpu-tests 300 node --test "$CHECKS"/*.test.mjs
  # CHECK_KV_DTYPES="auto float16": cuda-check's correctness once per K/V cache dtype (--kv-cache-dtype)
  for kv in ${CHECK_KV_DTYPES:-auto}; do
    kvenv=(SERVAL_CHECK_PARTS=correctness)
    [ "$kv" = auto ] || kvenv+=(SERVAL_CHECK_KV_CACHE_DTYPE="$kv")
    phase "cuda-check-kv-$kv" 150 env "${kvenv[@]}" node "$CHECKS/cuda-check.mjs" "/tmp/cuda-check-$kv"
    cp "/tmp/cuda-check-$kv/cuda-check.json" "$OUT/cuda-check-kv-$kv.json" 2> /dev/null
  done
  # STRESS_DTYPES="bfloat16 float32": issue 6's stress run (run-gpu.mjs stress, STRESS_N requests, default 500) per dtype
  for d in ${STRESS_DTYPES:-}; do
    phase "stress-$d" 200 env STRESS_DTYPE="$d" node "$CHECKS/run-gpu.mjs" stress "$OUT/stress-$d.json" "${STRESS_N:-500}"
  done
  # CHECKS_ONLY=1: stop after the checks (the offline runs in a second call)
  if [ "${CHECKS_ONLY:-0}" = 1 ]; then
    grep -E "^# (pass|fail|skipped)|^not ok|^=== |^correctness|^\{\"numRequests|exactMatches" "$OUT/run.log" | cut -c1-1500
    exit 0
  fi
else
  . bench/gpu/device-common.sh .dev-serve
fi
rm -rf dist && cp -r .dev-serve/dist dist
export SERVAL_CUDA_PROFILE=1
shape=${SHAPE:-Qwen2.5-7B}
model=.dev-serve/models/$shape
ENGINE=(--load-format dummy --device cuda --max-num-seqs 256 --max-num-batched-tokens 8192 --gpu-memory-utilization 0.9 --max-model-len 4096)
WORKLOAD=(--dataset random --random-prefix-len 300 --random-input-len 212 --random-output-len 128 --num-prompts 1000 --disable-progress)
RES=/tmp/guided-cost && mkdir -p $RES
echo '{"type":"object","properties":{"cpe":{"type":"array","items":{"type":"string"}}},"required":["cpe"]}' > /tmp/cpe-schema.json
phase plain 150 node bin/serval.js bench throughput --model "$model" "${ENGINE[@]}" "${WORKLOAD[@]}" --output-json $RES/plain.json
# PLAIN_KV=float16: a second plain run with that K/V cache dtype (its speed against the default's)
[ -n "${PLAIN_KV:-}" ] && phase "plain-kv-$PLAIN_KV" 150 node bin/serval.js bench throughput --model "$model" "${ENGINE[@]}" "${WORKLOAD[@]}" \
  --kv-cache-dtype "$PLAIN_KV" --output-json "$RES/plain-kv-$PLAIN_KV.json"
IFS='|' read -r -a variants <<< "${GUIDED_VARIANTS:-}"
[ ${#variants[@]} -eq 0 ] && variants=("")
[ "${GUIDED_VARIANTS:-}" = none ] && variants=()
i=0
for v in "${variants[@]}"; do
  i=$((i + 1))
  # shellcheck disable=SC2206
  extra=($v)
  phase "guided-$i ${v:-defaults}" 150 node bin/serval.js bench throughput --model "$model" "${ENGINE[@]}" "${WORKLOAD[@]}" "${extra[@]}" \
    --guided-json /tmp/cpe-schema.json --output-json "$RES/guided-$i.json"
done
[ "${PLAIN_AGAIN:-0}" = 1 ] && phase plain-again 150 node bin/serval.js bench throughput --model "$model" "${ENGINE[@]}" "${WORKLOAD[@]}" --output-json $RES/plain-again.json
tar czf "$OUT/results.tgz" -C /tmp guided-cost
grep -E "^# (pass|fail|skipped)|^not ok|^=== |^correctness|K/V|output tokens/s|grammar masks|step profile" "$OUT/run.log" | cut -c1-1500
