#!/usr/bin/env bash
# Runs on the GPU machine: guided throughput of two builds of the TypeScript side, alternated on one card (the addon
# is built once from this tree's native/, which both share). `serval bench throughput` on the JSON-extraction
# workload of serve-bench-device.sh (1000 requests, dummy bf16 weights) per shape in $SHAPES: plain with this tree's
# build, then $AB_ROUNDS rounds of guided with the old build ($AB_OLD_DIST, a dist/ folder) and this one, then plain
# again. carry [".device", ".dev-serve", "<folder of AB_OLD_DIST>"]; .dev-serve/dist is this tree's build
# (npm run prepare, copied). Results: $OUT/results.tgz (JSON per run, mask counters and per-step timers inside),
# $OUT/run.log.
set -uo pipefail
tar xJf .dev-serve/node_modules.tar.xz
tar xJf .dev-serve/models.tar.xz -C .dev-serve
. bench/gpu/device-common.sh .dev-serve
export SERVAL_CUDA_PROFILE=1
ENGINE=(--load-format dummy --device cuda --max-num-seqs 256 --max-num-batched-tokens 8192 --gpu-memory-utilization 0.9 --max-model-len 4096)
WORKLOAD=(--dataset random --random-prefix-len 300 --random-input-len 212 --random-output-len 128 --num-prompts 1000 --disable-progress)
RES=/tmp/guided-ab && rm -rf $RES && mkdir -p $RES
echo '{"type":"object","properties":{"cpe":{"type":"array","items":{"type":"string"}}},"required":["cpe"]}' > /tmp/cpe-schema.json
use() { rm -rf dist && cp -r "$1" dist; }
for shape in ${SHAPES:-Qwen2.5-0.5B}; do
  model=.dev-serve/models/$shape
  run() { # name extra...
    local name=$1; shift
    phase "$shape-$name" 150 node bin/serval.js bench throughput --model "$model" "${ENGINE[@]}" "${WORKLOAD[@]}" "$@" --output-json "$RES/$shape-$name.json"
  }
  use .dev-serve/dist && run plain
  for r in $(seq 1 "${AB_ROUNDS:-2}"); do
    use "$AB_OLD_DIST" && run "guided-old-$r" --guided-json /tmp/cpe-schema.json
    use .dev-serve/dist && run "guided-new-$r" --guided-json /tmp/cpe-schema.json
  done
  use .dev-serve/dist && run plain-again
done
tar czf "$OUT/results.tgz" -C /tmp guided-ab
grep -E "^=== |tok/s" "$OUT/run.log" | cut -c1-200
