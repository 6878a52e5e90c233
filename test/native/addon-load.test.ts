// Loading the addon: a missing build fails with the path and the command that builds it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { addonPath, DEFAULT_ADDON_PATH, nativeAddonBuilt } from '../../src/native/addon.js';

test('the addon built by npm install is where the loader looks', () => {
  assert.equal(addonPath(), process.env['SERVAL_NATIVE_ADDON'] ?? DEFAULT_ADDON_PATH);
  assert.ok(nativeAddonBuilt(), `${addonPath()} is missing: run node scripts/build-native.mjs`);
});

test('a missing addon is reported with its path and the build command', () => {
  const code = "import('./src/native/addon.ts').then((m) => m.loadNativeAddon()).catch((e) => { console.error(e.message); process.exit(3); });";
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', code], {
    env: { ...process.env, SERVAL_NATIVE_ADDON: '/nonexistent/serval_native.node' },
    encoding: 'utf8',
  });
  assert.equal(r.status, 3, r.stderr);
  assert.match(r.stderr, /serval native addon not built: \/nonexistent\/serval_native\.node is missing/);
  assert.match(r.stderr, /node scripts\/build-native\.mjs/);
});
