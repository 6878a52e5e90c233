// `serval serve Qwen/Qwen2.5-0.5B-Instruct`: a local model folder, or a Hugging Face hub id resolved through the
// shared HF cache (see cache-layout.ts), downloading what is missing (snapshot-download.ts).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { DEFAULT_ALLOW_PATTERNS } from './allow-patterns.js';
import { hubCacheDir, RepoCache } from './cache-layout.js';
import { hfToken, hubOffline } from './hf-env.js';
import { explainHubError, HubError, isNetworkFailure, type HubContext } from './hub-errors.js';
import { INDEX_FILE } from './select-weights.js';
import { snapshotDownload } from './snapshot-download.js';
import type { ProgressBarFactory } from './progress.js';

export interface ResolveOptions {
  /** branch, tag or commit hash (default "main") */
  revision?: string;
  /** cache folder to use instead of $HF_HUB_CACHE / $HF_HOME/hub (vLLM's --download-dir) */
  downloadDir?: string;
  /** files to fetch (globs); default: configs, tokenizer and chat-template files, safetensors weights */
  allowPatterns?: string[];
  /** progress bar on stderr (default true) */
  progress?: boolean;
  /** draws that bar (default byteProgress: resolve-off-thread.ts sends it to the main thread instead) */
  progressBar?: ProgressBarFactory;
  /** the file that makes a folder usable: config.json (default) for a model, tokenizer.json for --tokenizer */
  requiredFile?: string;
  /** environment to read HF_* variables from (default process.env) */
  env?: NodeJS.ProcessEnv;
}

const HUB_ID = /^(?:[A-Za-z0-9][\w.-]*\/)?[A-Za-z0-9][\w.-]*$/;
const DEFAULT_ENDPOINT = 'https://huggingface.co';

export async function resolveModelPath(idOrPath: string, opts: ResolveOptions = {}): Promise<string> {
  const requiredFile = opts.requiredFile ?? 'config.json';
  const local = localFolder(idOrPath, requiredFile);
  if (local) return local;
  const env = opts.env ?? process.env;
  const revision = opts.revision ?? 'main';
  const hubUrl = (env.HF_ENDPOINT || DEFAULT_ENDPOINT).replace(/\/+$/, '');
  const cache = new RepoCache(hubCacheDir(env, opts.downloadDir), idOrPath);
  const ctx: HubContext = { repoId: idOrPath, revision, hubUrl };

  if (hubOffline(env)) {
    const snapshot = cachedSnapshot(cache, revision, requiredFile);
    if (!snapshot) {
      throw new HubError(`HF_HUB_OFFLINE is set and ${idOrPath} (revision ${revision}) is not in the cache ` +
        `folder ${cache.folder}; download it once with network access (or unset HF_HUB_OFFLINE)`);
    }
    return snapshot;
  }
  try {
    return await snapshotDownload(cache, {
      ...ctx,
      accessToken: hfToken(env),
      allowPatterns: opts.allowPatterns ?? DEFAULT_ALLOW_PATTERNS,
      dedupeWeights: opts.allowPatterns === undefined,
      requiredFile,
      progress: opts.progress ?? true,
      ...(opts.progressBar ? { progressBar: opts.progressBar } : {}),
    });
  } catch (err) {
    // As huggingface_hub: with the hub unreachable, a complete snapshot already in the cache is used (said aloud).
    const snapshot = isNetworkFailure(err) ? cachedSnapshot(cache, revision, requiredFile) : null;
    if (snapshot) {
      process.stderr.write(`serval: cannot reach ${hubUrl}; using the cached ${idOrPath} (revision ${revision})\n`);
      return snapshot;
    }
    throw explainHubError(err, ctx);
  }
}

/** the folder when `idOrPath` names one on disk; null when it should be a hub id; an error when it is neither */
function localFolder(idOrPath: string, requiredFile: string): string | null {
  if (existsSync(idOrPath)) {
    const dir = resolve(idOrPath);
    if (!statSync(dir).isDirectory()) throw new Error(`${dir} is a file, not a model folder`);
    if (!existsSync(resolve(dir, requiredFile))) throw new Error(`${dir} is not a model folder (no ${requiredFile} in it)`);
    return dir;
  }
  const looksLikePath = /^(\.{1,2}|~)?[\\/]/.test(idOrPath) || idOrPath.split('/').length > 2;
  if (looksLikePath || !HUB_ID.test(idOrPath)) {
    throw new Error(`model folder ${idOrPath} does not exist (and it is not a Hugging Face id like org/name)`);
  }
  return null;
}

/** the cached snapshot for `revision` when it has the required file and every shard its index names; else null */
function cachedSnapshot(cache: RepoCache, revision: string, requiredFile: string): string | null {
  const commit = cache.cachedCommit(revision);
  if (!commit) return null;
  const dir = cache.snapshotDir(commit);
  if (!existsSync(resolve(dir, requiredFile))) return null;
  const index = resolve(dir, INDEX_FILE);
  if (existsSync(index)) {
    const weightMap = (JSON.parse(readFileSync(index, 'utf8')) as { weight_map?: Record<string, string> }).weight_map ?? {};
    if (![...new Set(Object.values(weightMap))].every((shard) => existsSync(resolve(dir, shard)))) return null;
  }
  return dir;
}
