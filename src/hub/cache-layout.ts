// The Hugging Face hub cache layout, exactly as huggingface_hub writes it, so caches are shared with Python tools:
//   <cache>/models--org--name/blobs/<etag>                 file contents (etag: git oid, or sha256 for LFS files)
//   <cache>/models--org--name/refs/<revision>              the commit hash a branch or tag pointed to
//   <cache>/models--org--name/snapshots/<commit>/<path>    symlink -> ../../blobs/<etag>
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { hfHome } from './hf-env.js';

export const COMMIT_HASH = /^[0-9a-f]{40}$/;

/** `downloadDir`, else $HF_HUB_CACHE, else <HF home>/hub */
export function hubCacheDir(env: NodeJS.ProcessEnv, downloadDir?: string): string {
  if (downloadDir) return downloadDir;
  const cache = env.HF_HUB_CACHE || env.HUGGINGFACE_HUB_CACHE; // the second is the older name huggingface_hub still reads
  if (cache) return cache;
  return join(hfHome(env), 'hub');
}

export class RepoCache {
  readonly folder: string;

  constructor(cacheDir: string, readonly repoId: string) {
    this.folder = join(cacheDir, `models--${repoId.split('/').join('--')}`);
  }

  blobPath(etag: string): string {
    return join(this.folder, 'blobs', etag);
  }

  snapshotDir(commit: string): string {
    return join(this.folder, 'snapshots', commit);
  }

  /** the commit a revision names: itself when it is a commit hash, else what refs/<revision> recorded */
  cachedCommit(revision: string): string | null {
    if (COMMIT_HASH.test(revision)) return revision;
    const ref = join(this.folder, 'refs', revision);
    return existsSync(ref) ? readFileSync(ref, 'utf8').trim() : null;
  }

  async writeRef(revision: string, commit: string): Promise<void> {
    if (revision === commit) return; // huggingface_hub records only branch/tag names
    const ref = join(this.folder, 'refs', revision);
    await mkdir(dirname(ref), { recursive: true });
    await atomicWrite(ref, commit);
  }

  /** snapshots/<commit>/<path> -> relative link to blobs/<etag>, replaced atomically */
  async linkSnapshotFile(commit: string, path: string, etag: string): Promise<void> {
    const link = join(this.snapshotDir(commit), path);
    await mkdir(dirname(link), { recursive: true });
    const tmp = `${link}.${process.pid}.${Date.now()}.tmp`;
    await symlink(relative(dirname(link), this.blobPath(etag)), tmp);
    try {
      await rename(tmp, link);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }
}

async function atomicWrite(path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, path);
}
