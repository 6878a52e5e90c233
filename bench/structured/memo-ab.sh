#!/usr/bin/env bash
# First-request masks with and without reuse by the parser's answers (mask-memo.ts), alternated in separate processes
# from an esbuild bundle (as the GPU host runs the benches: no tsx, whose start-up detaches a buffer and so compiles
# our mask path with V8's detach checks), then the medians of each setting.
# Usage: bash bench/structured/memo-ab.sh [runsPerSetting=10] [summaryFile] (PER_SUBSET: schemas per subset, 10)
set -euo pipefail
runs=${1:-10}
# under node_modules: the bundle leaves the tokenizer package out and finds it from there
out=$PWD/node_modules/.cache/serval-memo-ab
rm -rf "$out" && mkdir -p "$out"
banner="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
npx esbuild bench/structured/first-request-quantiles.ts --bundle --platform=node --format=esm --target=node20 --log-level=warning \
  --outfile="$out/first-request-quantiles.mjs" --banner:js="$banner"
# imported rather than run: the bundle holds step-masks.ts, whose main would run for the bundle's own path
for i in $(seq 1 "$runs"); do
  for memo in 0 1; do
    MASK_MEMO=$memo OUT_FILE="$out/runs.jsonl" node --input-type=module -e "await import('$out/first-request-quantiles.mjs')"
  done
done
SUMMARIZE_RUNS="$out/runs.jsonl" SUMMARY_FILE="${2:-}" node --input-type=module -e "await import('$out/first-request-quantiles.mjs')"
