#!/usr/bin/env bash
# Prepares the HTTP serving benchmark on the GPU machine (serve-bench-device.sh): the compiled CLI (dist/), the
# production node_modules (the GPU machine has no registry) and dummy-weight model folders in real Qwen2.5 shapes.
# Then, with the `run` tool: carry [".device", ".dev-serve"], command: bash bench/gpu/serve-bench-device.sh
# Argument: the bundle folder (default .dev-serve here; from another worktree: /work/main/.dev-serve).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=${1:-.dev-serve}
rm -rf $out && mkdir -p $out/models
npm run -s prepare
cp -r dist $out/dist
tmp=$(mktemp -d)
cp package.json package-lock.json "$tmp/"
(cd "$tmp" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --loglevel=error)
tar cJf $out/node_modules.tar.xz -C "$tmp" node_modules
rm -rf "$tmp"
for shape in ${SHAPES:-Qwen2.5-7B}; do
  node --import tsx bench/gpu/write-dummy-model.ts "$shape" "$out/models/$shape"
done
# the structured-output step bench (bench/structured/step-masks.ts) for the GPU host's cores: its bundle, the mask
# worker entry it starts next to itself, and the JSONSchemaBench schemas it walks (../shared/data is not carried)
banner="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
for f in bench/structured/step-masks.ts src/structured/workers/mask-worker.ts; do
  npx esbuild "$f" --bundle --platform=node --format=esm --target=node20 --outfile="$out/$(basename "${f%.ts}").$([ "$f" = src/structured/workers/mask-worker.ts ] && echo js || echo mjs)" \
    --log-level=warning --banner:js="$banner"
done
tar cJf $out/jsonschemabench.tar.xz -C ../shared/data jsonschemabench
# compressed: the tokenizer.json in each folder is 11 MB, and a device call carries 64 MiB at most
tar cJf $out/models.tar.xz -C $out models && rm -rf $out/models
du -sh $out .device
