// A fake Hugging Face hub on 127.0.0.1 with the endpoints @huggingface/hub calls for serval's resolveModelPath:
//   GET /api/models/<repo>/revision/<rev>       (modelInfo: the revision's commit `sha`)
//   GET /api/models/<repo>/tree/<rev>?recursive  (listFiles: path, size, oid, lfs)
//   GET /<repo>/resolve/<rev>/<path>             (downloadFile: a Range bytes=0-0 probe, then the bytes)
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';

export interface FakeFile {
  content: Buffer;
  lfs?: boolean;
}
export interface FakeRepo {
  /** branch/tag -> commit */
  refs: Record<string, string>;
  /** commit -> path -> file */
  commits: Record<string, Record<string, FakeFile>>;
  /** the only token that may read the repo (401 without it, 403 with another) */
  requiredToken?: string;
}
export interface SeenRequest {
  method: string;
  url: string;
  authorization?: string;
  range?: string;
}

export const gitOid = (b: Buffer) => createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');
export const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
export const etagOf = (f: FakeFile) => (f.lfs ? sha256(f.content) : gitOid(f.content));

export class FakeHub {
  readonly requests: SeenRequest[] = [];
  private server: Server | null = null;
  url = '';
  /** the next download of `path` sends `after` bytes, then the connection drops */
  cutNext: { path: string; after: number } | null = null;
  /** answer resume requests (Range from a later byte) with the whole file, as some mirrors do */
  ignoreResumeRanges = false;

  constructor(readonly repos: Record<string, FakeRepo>) {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => this.handle(req, res));
    await new Promise<void>((ok) => this.server!.listen(0, '127.0.0.1', ok));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (s) await new Promise<void>((ok) => { s.closeAllConnections(); s.close(() => ok()); });
  }

  private handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url!, 'http://x');
    this.requests.push({ method: req.method!, url: req.url!, authorization: req.headers.authorization,
      range: req.headers.range });
    const path = decodeURIComponent(url.pathname);
    let m = /^\/api\/models\/([^/]+\/[^/]+)\/(revision|tree)\/([^/]+)/.exec(path);
    if (m) {
      const found = this.lookup(m[1]!, m[3]!, req, res);
      if (!found) return;
      if (m[2] === 'revision') {
        return json(res, 200, { _id: 'x', id: m[1], sha: found.commit, private: false, gated: false, downloads: 0,
          likes: 0, lastModified: '2026-01-01T00:00:00.000Z' });
      }
      return json(res, 200, Object.entries(found.files).map(([p, f]) => ({
        type: 'file', path: p, size: f.content.length, oid: gitOid(f.content),
        ...(f.lfs && { lfs: { oid: sha256(f.content), size: f.content.length, pointerSize: 130 } }),
      })));
    }
    m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    if (m) {
      const found = this.lookup(m[1]!, m[2]!, req, res);
      if (!found) return;
      const file = found.files[m[3]!];
      if (!file) return json(res, 404, { error: 'Entry not found' }, { 'X-Error-Code': 'EntryNotFound' });
      const headers = { ETag: `"${etagOf(file)}"`, 'X-Repo-Commit': found.commit, 'Accept-Ranges': 'bytes' };
      let range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? '');
      if (range && this.ignoreResumeRanges && Number(range[1]) > 0) range = null;
      const start = range ? Number(range[1]) : 0;
      const end = range?.[2] ? Number(range[2]) : file.content.length - 1;
      const body = file.content.subarray(start, end + 1);
      res.writeHead(range ? 206 : 200, { ...headers, 'Content-Length': String(body.length),
        ...(range && { 'Content-Range': `bytes ${start}-${end}/${file.content.length}` }) });
      if (this.cutNext?.path === m[3] && body.length > 1) {
        const cut = this.cutNext;
        this.cutNext = null;
        res.write(body.subarray(0, cut.after), () => res.destroy());
        return;
      }
      return res.end(body);
    }
    json(res, 404, { error: 'unknown endpoint' });
  }

  private lookup(repoId: string, rev: string, req: IncomingMessage, res: ServerResponse) {
    const repo = this.repos[repoId];
    if (!repo) return void json(res, 404, { error: 'Repository not found' }, { 'X-Error-Code': 'RepoNotFound' });
    if (repo.requiredToken) {
      const auth = req.headers.authorization;
      if (!auth) return void json(res, 401, { error: 'Access to this repository is restricted' });
      if (auth !== `Bearer ${repo.requiredToken}`) return void json(res, 403, { error: 'Forbidden' });
    }
    const commit = repo.commits[rev] ? rev : repo.refs[rev];
    if (!commit || !repo.commits[commit]) {
      return void json(res, 404, { error: `Invalid rev id: ${rev}` }, { 'X-Error-Code': 'RevisionNotFound' });
    }
    return { commit, files: repo.commits[commit]! };
  }
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}
