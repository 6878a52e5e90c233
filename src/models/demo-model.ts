// The built-in demo model: a small qwen3 made by makeTestModel with a fixed seed, created on first use in the
// cache folder and reused afterwards. Bump DEMO_MODEL_VERSION whenever its options change.
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { makeTestModel, type MakeTestModelOptions } from './make-test-model.js';

export const DEMO_MODEL_VERSION = 'demo-model-v1';
export const DEMO_MODEL_OPTIONS: Omit<MakeTestModelOptions, 'out'> = {
  arch: 'qwen3',
  hidden: 64,
  layers: 2,
  heads: 4,
  kvHeads: 2,
  seed: 20251126,
};

/** `$SERVAL_CACHE` when set, else ~/.cache/serval */
export function servalCacheDir(): string {
  return process.env['SERVAL_CACHE'] || join(homedir(), '.cache', 'serval');
}

export async function ensureDemoModel(): Promise<string> {
  const cache = servalCacheDir();
  const dir = join(cache, DEMO_MODEL_VERSION);
  // The folder only appears (by rename) once complete, so a config.json there means a whole model.
  if (existsSync(join(dir, 'config.json'))) return dir;
  mkdirSync(cache, { recursive: true });
  // Build in a sibling temp folder, then rename: a concurrent or interrupted run never leaves a half-written model.
  const tmp = mkdtempSync(join(cache, `.${DEMO_MODEL_VERSION}-tmp-`));
  try {
    makeTestModel({ ...DEMO_MODEL_OPTIONS, out: tmp });
    try {
      renameSync(tmp, dir);
    } catch (e) {
      // Another process finished first: use its copy.
      if (!existsSync(join(dir, 'config.json'))) throw e;
      rmSync(tmp, { recursive: true, force: true });
    }
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  return dir;
}
