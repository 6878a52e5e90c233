#!/usr/bin/env bash
# Runs on the GPU machine (prepared by bundle-serve.sh): builds the addon for sm_90, then for each shape in $SHAPES
# (default Qwen2.5-7B; dummy bf16 weights) measures the issue's JSON-extraction workload — 512 prompt tokens of which
# the first 300 are shared by all requests, 128 output tokens, ignore_eos, with and without guided_json {cpe: string[]}:
#   1. offline: `serval bench throughput`, 1000 requests, all at once (vLLM's offline benchmark);
#   2. online: `serval serve` + `serval bench serve` at concurrency 1, 32 and 256 (TTFT/TPOT/ITL percentiles).
#   3. the HF transformers peer; 4. (STEP_MASKS="rows steps workers", e.g. "30 150 1,4,8,14") the structured-output
#      step bench on this host's cores (bench/structured/step-masks.ts).
# SKIP_OFFLINE=1 / SKIP_HF=1 / SKIP_SERVE=1 leave out parts 1 / 3 / 2; OFFLINE_REPEATS=N alternates plain and guided N times. Results (JSON per run + the server logs) come back as $OUT/results.tgz (the tool returns at most 8 files), the log as $OUT/run.log.
set -uo pipefail
tar xJf .dev-serve/node_modules.tar.xz  # production dependencies, node-addon-api (the addon build) included
tar xJf .dev-serve/models.tar.xz -C .dev-serve
. bench/gpu/device-common.sh .dev-serve
rm -rf dist && cp -r .dev-serve/dist dist
SERVAL=(node bin/serval.js)
ENGINE=(--load-format dummy --device cuda --max-num-seqs 256 --max-num-batched-tokens 8192 --gpu-memory-utilization 0.9 --max-model-len 4096)
WORKLOAD=(--dataset random --random-prefix-len 300 --random-input-len 212 --random-output-len 128)
RES=/tmp/serve-results && mkdir -p $RES
echo '{"type":"object","properties":{"cpe":{"type":"array","items":{"type":"string"}}},"required":["cpe"]}' > /tmp/cpe-schema.json
serve_runs() { # shape model: `serval serve` + `serval bench serve` at concurrency ${SERVE_SPECS:-1:16 32:256 256:1000} (c:requests)
  local shape=$1 model=$2
  "${SERVAL[@]}" serve "$model" "${ENGINE[@]}" --served-model-name "$shape" --host 127.0.0.1 --port 8000 \
    --disable-uvicorn-access-log > "$RES/serve-$shape.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 300); do
    curl -sf http://127.0.0.1:8000/v1/models > /dev/null && break
    kill -0 $pid 2> /dev/null || break
    sleep 1
  done
  for spec in ${SERVE_SPECS:-1:16 32:256 256:1000}; do
    c=${spec%%:*} n=${spec##*:}
    for kind in plain guided; do
      extra=()
      [ $kind = guided ] && extra=(--guided-json /tmp/cpe-schema.json --structured-output-field guided_json)
      phase "serve-$shape-c$c-$kind" 150 "${SERVAL[@]}" bench serve --port 8000 --model "$shape" --tokenizer "$model" \
        "${WORKLOAD[@]}" --ignore-eos --num-prompts "$n" --max-concurrency "$c" --disable-tqdm \
        --percentile-metrics ttft,tpot,itl,e2el --metric-percentiles 50,90,99 "${extra[@]}" \
        --save-result "$RES/serve-$shape-c$c-$kind.json"
    done
  done
  kill $pid; wait $pid 2> /dev/null
}
for shape in ${SHAPES:-Qwen2.5-7B}; do
  model=.dev-serve/models/$shape
  for r in $(seq 1 "${OFFLINE_REPEATS:-1}"); do
    [ "${SKIP_OFFLINE:-0}" = 1 ] && break
    sfx=$([ "${OFFLINE_REPEATS:-1}" = 1 ] || echo "-r$r")
    phase "throughput-$shape-plain$sfx" 150 "${SERVAL[@]}" bench throughput --model "$model" "${ENGINE[@]}" "${WORKLOAD[@]}" \
      --num-prompts "${N_OFFLINE:-1000}" --disable-progress --output-json "$RES/throughput-$shape-plain$sfx.json"
    phase "throughput-$shape-guided$sfx" 150 "${SERVAL[@]}" bench throughput --model "$model" "${ENGINE[@]}" "${WORKLOAD[@]}" \
      --num-prompts "${N_OFFLINE:-1000}" --guided-json /tmp/cpe-schema.json --disable-progress --output-json "$RES/throughput-$shape-guided$sfx.json"
  done
  [ "${SKIP_SERVE:-0}" = 1 ] || serve_runs "$shape" "$model"
  # the side-by-side peer on the same card and shape: HF transformers generate, batch 256 (bench/gpu/hf_generate.py)
  [ "${SKIP_HF:-0}" = 1 ] || HF_BATCHES=${HF_BATCHES:-256} phase "hf-generate-$shape" 150 python3 bench/gpu/hf_generate.py "$RES/hf-generate-$shape.json" "$model"
done
if [ -n "${STEP_MASKS:-}" ]; then
  mkdir -p /tmp/shared-data && tar xJf .dev-serve/jsonschemabench.tar.xz -C /tmp/shared-data
  read -r per_subset steps workers <<< "$STEP_MASKS"
  SERVAL_SHARED_DATA=/tmp/shared-data phase step-masks 240 node .dev-serve/step-masks.mjs "$per_subset" "$steps" "$RES/step-masks" "$workers"
fi
tar czf "$OUT/results.tgz" -C /tmp serve-results
grep -E "^=== |tok/s|Output token throughput|Mean TTFT|Median TPOT|Error|error" "$OUT/run.log" | cut -c1-300 | tail -80
