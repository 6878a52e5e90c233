#!/usr/bin/env bash
# Bundles the structured-output benches of one source tree for the GPU machine's host cores (step-masks-device.sh):
# step-masks.mjs with the mask-worker.js it starts next to itself, mask-bench.mjs with web-xgrammar-thread.js, cold-mask-breakdown.mjs,
# provider-start.mjs and after-peer-compile.mjs. web-xgrammar stays outside the
# bundle (mask-bench loads it with createRequire): a copy of the package without `"type": "module"` (Node would read
# its UMD build as an ES module) goes to OUT_DIR/../node_modules, where the bundles find it, here and on the device.
# Usage: bash bench/gpu/bundle-structured.sh OUT_DIR [SOURCE_TREE=.]  (e.g. .dev-sm/new, or .dev-sm/old from a
# `git worktree` of the commit to compare with, its node_modules linked)
set -euo pipefail
out=$(realpath -m "$1")
tree=${2:-.}
here=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$out"
banner="import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);"
cd "$tree"
# (worker entries as .js next to the benches that start them: start-module-worker.ts)
workers="src/structured/workers/mask-worker.ts bench/structured/web-xgrammar-thread.ts"
for f in bench/structured/step-masks.ts bench/structured/mask-bench.ts bench/structured/cold-mask-breakdown.ts bench/structured/provider-start.ts bench/structured/after-peer-compile.ts $workers; do
  [ -f "$f" ] || continue  # an older tree may lack a newer bench or worker
  ext=$(case " $workers " in *" $f "*) echo js ;; *) echo mjs ;; esac)
  npx esbuild "$f" --bundle --platform=node --format=esm --target=node20 --outfile="$out/$(basename "${f%.ts}").$ext" \
    --log-level=warning --banner:js="$banner"
done
cd "$here"
pkg=$(dirname "$out")/node_modules/@mlc-ai/web-xgrammar
# an OUT_DIR right under the repository would replace the installed package with this stripped copy
[ "$pkg" = "$here/node_modules/@mlc-ai/web-xgrammar" ] && { echo "bundle-structured.sh: OUT_DIR must not sit directly in the repository root" >&2; exit 1; }
rm -rf "$pkg" && mkdir -p "$pkg/lib"
cp node_modules/@mlc-ai/web-xgrammar/lib/index.js "$pkg/lib/"
node -e "const p = require('./node_modules/@mlc-ai/web-xgrammar/package.json'); delete p.type; require('fs').writeFileSync(process.argv[1], JSON.stringify(p, null, 2))" "$pkg/package.json"
