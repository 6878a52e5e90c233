#!/usr/bin/env bash
# Reproduces the CPU baseline of the built-in demo model (--device auto: the native CPU backend here): `serval serve` on 127.0.0.1 measured with
# `serval bench serve` (random and cpe workloads), then `serval bench throughput` in-process. Short runs: the
# demo model is tiny and host work dominates.
#   bash bench/baseline/run-cpu-baseline.sh            # cpe without the JSON schema
#   STRUCTURED=1 bash bench/baseline/run-cpu-baseline.sh  # cpe constrained to {cpe: string[]} as well
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=bench/baseline
PORT=${PORT:-18200}
SERVAL=(node --import tsx src/cli/main.ts)

{
  echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "cpu: $(lscpu | sed -n 's/^Model name: *//p') ($(nproc) cores)"
  echo "memory: $(free -g | awk '/^Mem:/ {print $2}') GiB"
  echo "node: $(node --version)"
  echo "git: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src || echo ' + uncommitted changes')"
  echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
} > "$OUT/cpu-machine.txt"

"${SERVAL[@]}" serve --host 127.0.0.1 --port "$PORT" --disable-log-stats --disable-uvicorn-access-log > "$OUT/.serve.log" 2>&1 &
SERVE_PID=$!
trap 'kill "$SERVE_PID" 2>/dev/null || true' EXIT
for _ in $(seq 1 240); do
  curl -sf "http://127.0.0.1:$PORT/v1/models" > /dev/null && break
  kill -0 "$SERVE_PID" 2> /dev/null || { cat "$OUT/.serve.log"; exit 1; }
  sleep 0.5
done

bench_serve() { # name, then bench serve flags
  local name=$1
  shift
  "${SERVAL[@]}" bench serve --port "$PORT" --disable-tqdm --percentile-metrics ttft,tpot,itl,e2el --metric-percentiles 50,90,99 \
    --save-result "$OUT/cpu-demo-serve-$name.json" "$@" | tee "$OUT/cpu-demo-serve-$name.txt"
}
bench_serve random --dataset random --num-prompts 24 --random-input-len 128 --random-output-len 32 --ignore-eos
bench_serve random-c4 --dataset random --num-prompts 24 --random-input-len 128 --random-output-len 32 --ignore-eos --max-concurrency 4
bench_serve cpe-unconstrained --endpoint /v1/chat/completions --dataset cpe --num-prompts 16 --output-len 48 --ignore-eos --no-structured-output
if [ "${STRUCTURED:-0}" = 1 ]; then
  bench_serve cpe --endpoint /v1/chat/completions --dataset cpe --num-prompts 16 --output-len 48
fi
kill "$SERVE_PID"
wait "$SERVE_PID" 2> /dev/null || true

bench_throughput() { # name, then bench throughput flags
  local name=$1
  shift
  "${SERVAL[@]}" bench throughput --disable-progress --output-json "$OUT/cpu-demo-throughput-$name.json" "$@" | tee "$OUT/cpu-demo-throughput-$name.txt"
}
bench_throughput random --dataset random --num-prompts 24 --random-input-len 128 --random-output-len 32
bench_throughput cpe-unconstrained --dataset cpe --num-prompts 16 --output-len 48 --no-structured-output
if [ "${STRUCTURED:-0}" = 1 ]; then
  bench_throughput cpe --dataset cpe --num-prompts 16 --output-len 48 --no-ignore-eos
fi
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/cpu-machine.txt"
rm -f "$OUT/.serve.log"
