#!/usr/bin/env bash
# Runs on the GPU machine's host (16 cores): the structured-output step bench (bench/structured/step-masks.ts),
# alternating engine versions back to back, then (MB_RUNS) the single-thread mask bench (bench/structured/mask-bench.ts).
# Each folder of .dev-sm/ (bundle-structured.sh) is one version; the production node_modules and the JSONSchemaBench
# schemas come from .dev-serve (bundle-serve.sh).
# carry [".device", ".dev-serve", ".dev-sm"]; env: SM_VARIANTS ("old new": folders of .dev-sm, each optionally with
# environment settings joined by "+", "new:STEP_MASKS_FEED_IN_STEP=1+STEP_MASKS_REWRITE_ALL=1"; "none" skips the step bench), SM_ROUNDS (2),
# SM_ARGS ("30 100": schemas per subset, steps per phase), SM_WORKERS ("4,14"), SM_FORWARD ("0": simulated forward
# ms, a list runs each); SM_ASSIST ("1": the engine thread's assist limits in ms, a list: a config each, 0 = none;
# bundles from before the assist ignore it); MB_RUNS ("variant:ours|full|own|apart|same ...", in order; ours = MASK_BENCH_OURS_ONLY, own / apart = MASK_BENCH_ORDER=own / apart,
# same = the default order with web-xgrammar in the bench's thread: MASK_BENCH_PEER=same-thread; a kind ending in
# "+detach" sets MASK_BENCH_DETACH_FIRST=1), MB_PER_SUBSET (10); MASK_BENCH_PAGE_FAULTS=1 in the environment reaches mask-bench.ts;
# APC_RUNS ("variant:own-thread|same-thread ...": after-peer-compile.ts with web-xgrammar in its own or the bench's thread);
# CB_VARIANTS ("": none) and CB_ROUNDS (3): single-thread cold-mask-breakdown.ts 10 250, variants alternated per round;
# CB_PROFILE=1: the last round's runs also write a CPU profile of their masks (cb-<variant>-<round>.cpuprofile);
# PS_VARIANTS (""): provider-start.ts 3 per variant (start-up time and memory of a grammar provider);
# CB_PREFIX (""): a command the cold-mask runs go through, e.g. "taskset -c 3" to keep each on one core.
# Results: sm-<variant>-f<forward>-<round>.json and .log, apc-<n>-<variant>-<place>.log, mb-<n>-<variant>-<kind>.json with -slow.json (its first-request
# masks of 100 µs or more, named: MASK_BENCH_SLOW_OUT) in $OUT/results.tgz (a call returns 8 files at most), $OUT/run.log.
set -uo pipefail
tar xJf .dev-serve/node_modules.tar.xz
mkdir -p /tmp/shared-data && tar xJf .dev-serve/jsonschemabench.tar.xz -C /tmp/shared-data
. .device/on-device.sh
lscpu | grep -E 'Model name|^CPU\(s\)|NUMA|Thread|Socket' | tee "$OUT/run.log"
read -r per_subset steps <<< "${SM_ARGS:-30 100}"
# a fresh folder (a warm machine keeps /tmp from an earlier call)
RES=/tmp/sm-results && rm -rf $RES && mkdir -p $RES
[ "${SM_VARIANTS:-}" = none ] && SM_FORWARD=" "
for fwd in ${SM_FORWARD:-0}; do
  for round in $(seq 1 "${SM_ROUNDS:-2}"); do
    for spec in ${SM_VARIANTS:-old new}; do
      # a variant is a bundle folder, optionally with environment settings joined by "+":
      # "new:STEP_MASKS_REWRITE_ALL=1", "new:STEP_MASKS_FEED_IN_STEP=1+STEP_MASKS_REWRITE_ALL=1"
      v=${spec%%:*} env=$([ "$spec" != "$v" ] && echo "${spec#*:}" | tr '+' ' ' || echo "SM_VARIANT=$v") name=$(echo "$spec" | tr ':=+,' '----')
      s=$(date +%s)
      env $env SERVAL_SHARED_DATA=/tmp/shared-data timeout 240 node --expose-gc ".dev-sm/$v/step-masks.mjs" "$per_subset" "$steps" \
        "$RES/sm-$name-f$fwd-$round" "${SM_WORKERS:-4,14}" "$fwd" "${SM_ASSIST:-1}" > "$RES/sm-$name-f$fwd-$round.log" 2>&1
      echo "=== $spec forward $fwd round $round: rc=$?, $(( $(date +%s) - s )) s" | tee -a "$OUT/run.log"
      grep '^{"config' "$RES/sm-$name-f$fwd-$round.log" | cut -c1-400 >> "$OUT/run.log"
    done
  done
done
for round in $(seq 1 "${CB_ROUNDS:-3}"); do
  for v in ${CB_VARIANTS:-}; do
    s=$(date +%s)
    prof=$([ -n "${CB_PROFILE:-}" ] && [ "$round" = "${CB_ROUNDS:-3}" ] && echo "$RES/cb-$v-$round.cpuprofile" || echo "")
    CB_CPU_PROFILE=$prof SERVAL_SHARED_DATA=/tmp/shared-data timeout 120 ${CB_PREFIX:-} node --expose-gc ".dev-sm/$v/cold-mask-breakdown.mjs" 10 250 "$RES/cb-$v-$round.json" \
      > "$RES/cb-$v-$round.log" 2>&1
    echo "=== cold-mask-breakdown $v round $round: rc=$?, $(( $(date +%s) - s )) s" | tee -a "$OUT/run.log"
  done
done
for v in ${PS_VARIANTS:-}; do
  SERVAL_SHARED_DATA=/tmp/shared-data timeout 120 node --expose-gc ".dev-sm/$v/provider-start.mjs" 3 "$RES/ps-$v.json" > "$RES/ps-$v.log" 2>&1
  echo "=== provider-start $v: rc=$?" | tee -a "$OUT/run.log"
done
n=0
for spec in ${MB_RUNS:-}; do
  n=$((n + 1)) v=${spec%%:*} kind=${spec##*:} s=$(date +%s)
  detach=$([ "${kind%+detach}" != "$kind" ] && echo 1 || echo 0) kind=${kind%+detach}
  [ "$detach" = 1 ] && kind=$kind-detach
  base=${kind%-detach}
  ours=$([ "$base" = ours ] && echo 1 || echo 0)
  order=$( { [ "$base" = own ] || [ "$base" = apart ]; } && echo "$base" || echo default)
  peer=$([ "$base" = same ] && echo same-thread || echo own-thread)
  SERVAL_SHARED_DATA=/tmp/shared-data MASK_BENCH_DETACH_FIRST=$detach MASK_BENCH_OURS_ONLY=$ours MASK_BENCH_ORDER=$order MASK_BENCH_PEER=$peer MASK_BENCH_SLOW_OUT="$RES/mb-$n-$v-$kind-slow.json" \
    timeout 300 node --expose-gc ".dev-sm/$v/mask-bench.mjs" "${MB_PER_SUBSET:-10}" \
    "$RES/mb-$n-$v-$kind.json" > "$RES/mb-$n-$v-$kind.log" 2>&1
  echo "=== mask-bench $n $v $kind: rc=$?, $(( $(date +%s) - s )) s" | tee -a "$OUT/run.log"
done
n=0
for spec in ${APC_RUNS:-}; do
  n=$((n + 1)) v=${spec%%:*} place=${spec##*:}
  SERVAL_SHARED_DATA=/tmp/shared-data MASK_BENCH_PEER=$place timeout 120 node --expose-gc ".dev-sm/$v/after-peer-compile.mjs" \
    > "$RES/apc-$n-$v-$place.log" 2>&1
  echo "=== after-peer-compile $n $v $place: rc=$?" | tee -a "$OUT/run.log"
done
tar czf "$OUT/results.tgz" -C /tmp sm-results
