// Builds the native addon (native/ → build/native/Release/serval_native.node) with cmake-js; run by `npm install`.
// The CUDA part is compiled when nvcc is found (CUDACXX, PATH or /usr/local/cuda/bin/nvcc); no GPU is needed.
// Usage: node scripts/build-native.mjs [--no-cuda] [--debug]
// SERVAL_SKIP_NATIVE_BUILD=1 skips the build (the addon then reports itself missing when used, naming this script).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
if (process.env.SERVAL_SKIP_NATIVE_BUILD === '1') {
  console.log('serval: SERVAL_SKIP_NATIVE_BUILD=1, native addon not built');
  process.exit(0);
}
const args = process.argv.slice(2);
const require = createRequire(join(root, 'package.json'));
let cmakeJs;
try {
  cmakeJs = join(dirname(require.resolve('cmake-js/package.json')), 'bin', 'cmake-js');
} catch {
  console.error('serval: cmake-js is not installed (run `npm install` first)');
  process.exit(1);
}
const cmakeArgs = [
  cmakeJs,
  'compile',
  '--directory', join(root, 'native'),
  '--out', join(root, 'build', 'native'),
  '--parallel', String(Math.max(1, cpus().length)),
];
if (args.includes('--debug')) cmakeArgs.push('--debug');
if (args.includes('--no-cuda')) cmakeArgs.push('--CDSERVAL_CUDA=OFF');
const env = { ...process.env };
if (!env.CUDACXX && existsSync('/usr/local/cuda/bin/nvcc')) env.CUDACXX = '/usr/local/cuda/bin/nvcc';
const started = Date.now();
const r = spawnSync(process.execPath, cmakeArgs, { cwd: root, stdio: 'inherit', env });
if (r.status !== 0) {
  console.error(
    'serval: building the native addon failed (cmake + a C++17 compiler are required; ' +
      'set SERVAL_SKIP_NATIVE_BUILD=1 to install without it)',
  );
  process.exit(r.status ?? 1);
}
console.log(`serval: native addon built in ${((Date.now() - started) / 1000).toFixed(0)} s`);
