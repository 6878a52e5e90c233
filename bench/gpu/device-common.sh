# Sourced by the device-run scripts on the GPU machine: prints the card, builds the addon for sm_90 with plain cmake
# from the native/ folder $2 (default: the tree's own native/), points serval at it and at the bundled tokenizer in
# $1 (the bundle folder), and defines `phase NAME LIMIT_S CMD...`, which runs one step under its own time limit and
# logs it to $OUT/run.log.
BUNDLE=$1
NATIVE_SRC=${2:-native}
. .device/on-device.sh
nvidia-smi --query-gpu=name,memory.total,clocks.max.sm --format=csv | tee "$OUT/run.log"
t0=$(date +%s)
# one build folder per source folder: cmake refuses a folder configured for another source (warm machines keep /tmp)
BUILD_DIR=/tmp/serval-build-$(echo "$NATIVE_SRC" | tr -c 'A-Za-z0-9\n' '_')
(cmake -S "$NATIVE_SRC" -B "$BUILD_DIR" -DNODE_INCLUDE="$NODE_HEADERS_DIR" -DCMAKE_CUDA_ARCHITECTURES=90 \
  -DNODE_ADDON_API_DIR="$PWD/node_modules/node-addon-api" \
  -DCMAKE_BUILD_TYPE=Release && cmake --build "$BUILD_DIR" -j16) > "$OUT/build.log" 2>&1 || {
  tail -30 "$OUT/build.log"
  exit 1
}
echo "build: $(( $(date +%s) - t0 )) s" | tee -a "$OUT/run.log"
export SERVAL_NATIVE_ADDON=$BUILD_DIR/serval_native.node
export SERVAL_TOKENIZER_DIR=$PWD/$BUNDLE/tokenizer
phase() { # name limit_s command...
  local name=$1 limit=$2; shift 2
  local s=$(date +%s)
  echo "=== $name (limit ${limit}s)" >> "$OUT/run.log"
  timeout "$limit" "$@" >> "$OUT/run.log" 2>&1
  local rc=$?
  echo "=== $name: rc=$rc, $(( $(date +%s) - s )) s" | tee -a "$OUT/run.log"
}
