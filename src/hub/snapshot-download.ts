// Brings one revision of a hub repository into the cache: resolve the revision's commit, list its files, fetch
// the missing blobs (a few in parallel, with a progress bar), link the snapshot, record refs/<revision>.
//
// @huggingface/hub does the hub requests (modelInfo for the commit, listFiles, downloadFile with its Range/xet
// support). Its downloadFileToCacheDir is not used: it names the snapshot folder after the commit that last
// touched each file rather than the revision's commit, writes no refs/<revision>, and has no resume or progress,
// so the cache would not match what huggingface_hub writes.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { listFiles, modelInfo } from '@huggingface/hub';
import { matchesAny } from './allow-patterns.js';
import { COMMIT_HASH, type RepoCache } from './cache-layout.js';
import { downloadBlob } from './download-blob.js';
import { HubError, type HubContext } from './hub-errors.js';
import { byteProgress, type ProgressBarFactory } from './progress.js';
import { INDEX_FILE, isWeightFile, selectWeightFiles, type RepoFile } from './select-weights.js';

const PARALLEL_DOWNLOADS = 4;

export interface SnapshotRequest extends HubContext {
  accessToken?: string;
  allowPatterns: readonly string[];
  /** drop duplicate weight files (see select-weights.ts); off when the caller chose the patterns */
  dedupeWeights: boolean;
  /** the file the snapshot must contain (config.json for a model) */
  requiredFile: string;
  progress: boolean;
  /** draws the weights' progress (default byteProgress) */
  progressBar?: ProgressBarFactory;
}

export async function snapshotDownload(cache: RepoCache, req: SnapshotRequest): Promise<string> {
  const credentials = { hubUrl: req.hubUrl, accessToken: req.accessToken };
  const info = await modelInfo({ name: req.repoId, revision: req.revision, additionalFields: ['sha'], ...credentials });
  const commit = info.sha;
  if (typeof commit !== 'string' || !COMMIT_HASH.test(commit)) {
    throw new HubError(`${req.hubUrl} gave no commit hash for ${req.repoId} (revision ${req.revision})`);
  }
  const files: RepoFile[] = [];
  for await (const entry of listFiles({ repo: { type: 'model', name: req.repoId }, revision: commit, recursive: true, ...credentials })) {
    if (entry.type !== 'file' || !matchesAny(entry.path, req.allowPatterns)) continue;
    const etag = entry.lfs?.oid ?? entry.oid; // huggingface_hub's blob name: sha256 for LFS files, git oid otherwise
    if (!etag) throw new HubError(`${req.hubUrl} listed ${entry.path} without an oid`);
    files.push({ path: entry.path, size: entry.lfs?.size ?? entry.size, etag });
  }
  if (!files.some((f) => f.path === req.requiredFile)) {
    throw new HubError(`${req.repoId} (revision ${req.revision}) has no ${req.requiredFile}`);
  }
  const fetch = (batch: RepoFile[], showProgress: boolean) => {
    // one download per blob: files with the same contents share it (two writers would share one .incomplete)
    const byEtag = new Map(batch.map((f) => [f.etag, f]));
    const missing = [...byEtag.values()].filter((f) => !isCompleteBlob(cache.blobPath(f.etag), f.size));
    return fetchBlobs(cache, req, commit, missing, showProgress);
  };

  // configs, tokenizer and the weight index first: the index says which weight files to take
  const small = files.filter((f) => !isWeightFile(f.path));
  await fetch(small, false);
  let weights = files.filter((f) => isWeightFile(f.path));
  if (req.dedupeWeights) {
    const index = small.find((f) => f.path === INDEX_FILE);
    weights = selectWeightFiles(weights, index ? JSON.parse(readFileSync(cache.blobPath(index.etag), 'utf8')) : null);
  }
  await fetch(weights, req.progress);

  for (const f of [...small, ...weights]) await cache.linkSnapshotFile(commit, f.path, f.etag);
  await cache.writeRef(req.revision, commit);
  return cache.snapshotDir(commit);
}

async function fetchBlobs(cache: RepoCache, req: SnapshotRequest, commit: string, files: RepoFile[], showProgress: boolean) {
  const bar = (req.progressBar ?? byteProgress)(req.repoId, files.reduce((n, f) => n + f.size, 0), showProgress);
  try {
    const queue = [...files];
    let stop = false;
    // a few files at a time: one connection per shard rarely fills the link
    const worker = async () => {
      for (let f = queue.shift(); f && !stop; f = queue.shift()) {
        await downloadBlob({ repoId: req.repoId, commit, path: f.path, size: f.size, blobPath: cache.blobPath(f.etag),
          hubUrl: req.hubUrl, accessToken: req.accessToken, onBytes: (n) => bar.add(n) }).catch((err: unknown) => {
          stop = true;
          throw err;
        });
      }
    };
    // allSettled: let the other downloads stop cleanly before reporting the first failure
    const results = await Promise.allSettled(Array.from({ length: Math.min(PARALLEL_DOWNLOADS, queue.length) }, worker));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  } finally {
    bar.stop();
  }
}

function isCompleteBlob(path: string, size: number): boolean {
  return existsSync(path) && statSync(path).size === size;
}
