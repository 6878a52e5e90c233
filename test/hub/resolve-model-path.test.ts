// resolveModelPath against a fake hub on 127.0.0.1: HF cache layout, offline use, revisions, tokens, errors.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveModelPath } from '../../src/hub/resolve-model-path.js';
import { etagOf, FakeHub, type FakeFile } from './fake-hub.js';

const C1 = 'a'.repeat(40);
const C2 = 'b'.repeat(40);
const weights = Buffer.alloc(300_000, 7);
const tinyModel = (tag: string): Record<string, FakeFile> => ({
  'config.json': { content: Buffer.from(JSON.stringify({ architectures: ['Qwen2ForCausalLM'], tag })) },
  'tokenizer.json': { content: Buffer.from('{"tok": true}') },
  'tokenizer_config.json': { content: Buffer.from('{"eos_token": "</s>"}') },
  'model.safetensors': { content: weights, lfs: true },
  'pytorch_model.bin': { content: Buffer.from('not fetched'), lfs: true },
  'README.md': { content: Buffer.from('# readme') },
});
const shard = (n: number) => ({ content: Buffer.alloc(1000 + n, n), lfs: true });
const index = { weight_map: { 'a.weight': 'model-00001-of-00002.safetensors', 'b.weight': 'model-00002-of-00002.safetensors' } };
const hub = await new FakeHub({
  'mistralai/twice': { refs: { main: C1 }, commits: { [C1]: {
    'config.json': { content: Buffer.from('{}') },
    'model.safetensors.index.json': { content: Buffer.from(JSON.stringify(index)) },
    'model-00001-of-00002.safetensors': shard(1),
    'model-00002-of-00002.safetensors': shard(2),
    'consolidated.safetensors': shard(3),
  } } },
  'org/single-twice': { refs: { main: C1 }, commits: { [C1]: {
    'config.json': { content: Buffer.from('{}') }, 'model.safetensors': shard(4), 'consolidated.safetensors': shard(5),
  } } },
  'org/tokenizer-only': { refs: { main: C1 }, commits: { [C1]: {
    'tokenizer.json': { content: Buffer.from('{}') }, 'tokenizer_config.json': { content: Buffer.from('{}') },
  } } },
  'org/tiny': { refs: { main: C1, v2: C2 }, commits: { [C1]: tinyModel('one'), [C2]: tinyModel('two') } },
  'org/gated': { refs: { main: C1 }, commits: { [C1]: tinyModel('gated') }, requiredToken: 'hf_secret' },
}).start();
after(() => hub.stop());

const freshCache = () => mkdtempSync(join(tmpdir(), 'serval-hub-'));
// HF_HOME is a fresh folder too, so a token saved on the developer's machine never reaches the fake hub
const envFor = (cache: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv =>
  ({ HF_HUB_CACHE: cache, HF_HOME: freshCache(), HF_ENDPOINT: hub.url, ...extra });

test('downloads into an empty cache with huggingface_hub\'s layout; only configs, tokenizer and safetensors', async () => {
  const cache = freshCache();
  const dir = await resolveModelPath('org/tiny', { env: envFor(cache), progress: false });
  const repo = join(cache, 'models--org--tiny');
  assert.equal(dir, join(repo, 'snapshots', C1));
  assert.equal(readFileSync(join(repo, 'refs', 'main'), 'utf8'), C1);
  const files = tinyModel('one');
  for (const name of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'model.safetensors']) {
    const link = join(dir, name);
    assert.ok(lstatSync(link).isSymbolicLink(), `${name} is a symlink`);
    assert.equal(readlinkSync(link), `../../blobs/${etagOf(files[name]!)}`);
    assert.deepEqual(readFileSync(link), files[name]!.content);
  }
  assert.equal(existsSync(join(dir, 'pytorch_model.bin')), false, 'other weight formats are not fetched');
  assert.equal(existsSync(join(dir, 'README.md')), false);
  assert.equal(existsSync(join(repo, 'blobs', `${etagOf(files['model.safetensors']!)}.incomplete`)), false);
});

test('a second resolve uses the cache: no downloads online, and works with the hub unreachable', async () => {
  const cache = freshCache();
  await resolveModelPath('org/tiny', { env: envFor(cache), progress: false });
  const before = hub.requests.filter((r) => r.url.includes('/resolve/')).length;
  const again = await resolveModelPath('org/tiny', { env: envFor(cache), progress: false });
  assert.equal(hub.requests.filter((r) => r.url.includes('/resolve/')).length, before, 'nothing downloaded again');
  // nothing listens on this port any more: a network failure, not an HTTP error
  const down = await new FakeHub({}).start();
  const deadUrl = down.url;
  await down.stop();
  const offline = await resolveModelPath('org/tiny', { env: envFor(cache, { HF_ENDPOINT: deadUrl }), progress: false });
  assert.equal(offline, again);
  await assert.rejects(resolveModelPath('org/other', { env: envFor(cache, { HF_ENDPOINT: deadUrl }), progress: false }),
    /cannot reach http:\/\/127\.0\.0\.1:\d+ .*HF_ENDPOINT.*HF_HUB_OFFLINE/);
});

test('HF_HUB_OFFLINE=1 reads the cache only, and names the id and cache folder when it is missing', async () => {
  const cache = freshCache();
  await resolveModelPath('org/tiny', { env: envFor(cache), progress: false });
  const seen = hub.requests.length;
  const dir = await resolveModelPath('org/tiny', { env: envFor(cache, { HF_HUB_OFFLINE: '1' }) });
  assert.equal(dir, join(cache, 'models--org--tiny', 'snapshots', C1));
  assert.equal(hub.requests.length, seen, 'no request made offline');
  await assert.rejects(resolveModelPath('org/tiny', { env: envFor(cache, { HF_HUB_OFFLINE: '1' }), revision: 'v2' }),
    /HF_HUB_OFFLINE is set and org\/tiny \(revision v2\) is not in the cache folder .*models--org--tiny/);
});

test('--download-dir and HF_HOME pick the cache folder', async () => {
  const downloadDir = freshCache();
  const home = freshCache();
  const a = await resolveModelPath('org/tiny', { env: { HF_ENDPOINT: hub.url, HF_HOME: home }, downloadDir, progress: false });
  assert.ok(a.startsWith(join(downloadDir, 'models--org--tiny')));
  const b = await resolveModelPath('org/tiny', { env: { HF_ENDPOINT: hub.url, HF_HOME: home }, progress: false });
  assert.ok(b.startsWith(join(home, 'hub', 'models--org--tiny')));
});

test('--revision: a tag records refs/<tag>; a commit hash is used as is', async () => {
  const cache = freshCache();
  const dir = await resolveModelPath('org/tiny', { env: envFor(cache), revision: 'v2', progress: false });
  assert.equal(dir, join(cache, 'models--org--tiny', 'snapshots', C2));
  assert.equal(readFileSync(join(cache, 'models--org--tiny', 'refs', 'v2'), 'utf8'), C2);
  assert.match(readFileSync(join(dir, 'config.json'), 'utf8'), /"two"/);
  const byCommit = await resolveModelPath('org/tiny', { env: envFor(freshCache()), revision: C1, progress: false });
  assert.ok(byCommit.endsWith(join('snapshots', C1)));
  assert.match(readFileSync(join(byCommit, 'config.json'), 'utf8'), /"one"/);
  await assert.rejects(resolveModelPath('org/tiny', { env: envFor(cache), revision: 'nope', progress: false }),
    /org\/tiny \(revision nope\) .* was not found \(HTTP 404\).*--revision/);
});

test('HF_TOKEN is sent as Authorization; 401/403 explain gated repos and HF_TOKEN', async () => {
  const cache = freshCache();
  await assert.rejects(resolveModelPath('org/gated', { env: envFor(cache), progress: false }),
    /refused \(HTTP 401\).*gated or private.*HF_TOKEN/);
  await assert.rejects(resolveModelPath('org/gated', { env: envFor(cache, { HF_TOKEN: 'hf_wrong' }), progress: false }),
    /refused \(HTTP 403\).*HF_TOKEN/);
  const start = hub.requests.length;
  const dir = await resolveModelPath('org/gated', { env: envFor(cache, { HF_TOKEN: 'hf_secret' }), progress: false });
  assert.match(readFileSync(join(dir, 'config.json'), 'utf8'), /"gated"/);
  const sent = hub.requests.slice(start);
  assert.ok(sent.length >= 4);
  for (const r of sent) assert.equal(r.authorization, 'Bearer hf_secret', r.url);
  await assert.rejects(resolveModelPath('org/gated', { env: envFor(freshCache(), { HF_TOKEN: 'secret' }), progress: false }),
    /HF_TOKEN is not a Hugging Face access token \(it must start with "hf_"\)/);
});

test('without HF_TOKEN, the token saved by `huggingface-cli login` in $HF_HOME/token is used', async () => {
  const home = freshCache();
  writeFileSync(join(home, 'token'), 'hf_secret\n');
  const dir = await resolveModelPath('org/gated', { env: { HF_ENDPOINT: hub.url, HF_HOME: home }, progress: false });
  assert.ok(dir.startsWith(join(home, 'hub', 'models--org--gated')));
});

test('404 for an unknown repository', async () => {
  await assert.rejects(resolveModelPath('org/missing', { env: envFor(freshCache()), progress: false }),
    /org\/missing \(revision main\) on http:\/\/127\.0\.0\.1:\d+ was not found \(HTTP 404\)/);
});

test('an interrupted download resumes from blobs/<etag>.incomplete with a Range request', async () => {
  const cache = freshCache();
  const blobs = join(cache, 'models--org--tiny', 'blobs');
  mkdirSync(blobs, { recursive: true });
  const etag = etagOf({ content: weights, lfs: true });
  writeFileSync(join(blobs, `${etag}.incomplete`), weights.subarray(0, 100_000));
  const start = hub.requests.length;
  const dir = await resolveModelPath('org/tiny', { env: envFor(cache), progress: false });
  assert.deepEqual(readFileSync(join(dir, 'model.safetensors')), weights);
  assert.ok(hub.requests.slice(start).some((r) => r.range === `bytes=100000-${weights.length - 1}`));
});

test('a server that ignores the resume Range gets a clear error, then a whole download', async () => {
  const cache = freshCache();
  const blobs = join(cache, 'models--org--tiny', 'blobs');
  mkdirSync(blobs, { recursive: true });
  const etag = etagOf({ content: weights, lfs: true });
  writeFileSync(join(blobs, `${etag}.incomplete`), weights.subarray(0, 100_000));
  hub.ignoreResumeRanges = true;
  try {
    await assert.rejects(resolveModelPath('org/tiny', { env: envFor(cache), progress: false }),
      /gave 400000 bytes for a 300000-byte file; the partial file was removed, run again/);
    const dir = await resolveModelPath('org/tiny', { env: envFor(cache), progress: false });
    assert.deepEqual(readFileSync(join(dir, 'model.safetensors')), weights);
  } finally {
    hub.ignoreResumeRanges = false;
  }
});

test('a connection dropped mid-file leaves a resumable .incomplete blob and a clear error', async () => {
  const cache = freshCache();
  hub.cutNext = { path: 'model.safetensors', after: 65_536 };
  await assert.rejects(resolveModelPath('org/tiny', { env: envFor(cache), progress: false }),
    /download of org\/tiny\/model\.safetensors stopped at \d+ of 300000 bytes .*run again to resume/);
  const incomplete = join(cache, 'models--org--tiny', 'blobs', `${etagOf({ content: weights, lfs: true })}.incomplete`);
  assert.ok(existsSync(incomplete));
  assert.equal(existsSync(join(cache, 'models--org--tiny', 'refs', 'main')), false, 'no ref to a half snapshot');
  const dir = await resolveModelPath('org/tiny', { env: envFor(cache), progress: false });
  assert.deepEqual(readFileSync(join(dir, 'model.safetensors')), weights);
});

test('weights listed twice (consolidated.safetensors beside the shards) are fetched once', async () => {
  const cache = freshCache();
  const dir = await resolveModelPath('mistralai/twice', { env: envFor(cache), progress: false });
  assert.ok(existsSync(join(dir, 'model-00001-of-00002.safetensors')));
  assert.ok(existsSync(join(dir, 'model-00002-of-00002.safetensors')));
  assert.equal(existsSync(join(dir, 'consolidated.safetensors')), false);
  const single = await resolveModelPath('org/single-twice', { env: envFor(cache), progress: false });
  assert.ok(existsSync(join(single, 'model.safetensors')));
  assert.equal(existsSync(join(single, 'consolidated.safetensors')), false);
  // patterns chosen by the caller are taken as they are
  const all = await resolveModelPath('org/single-twice', { env: envFor(freshCache()), allowPatterns: ['config.json', '*.safetensors'],
    progress: false });
  assert.ok(existsSync(join(all, 'consolidated.safetensors')));
});

test('a tokenizer-only repository or folder resolves with requiredFile tokenizer.json', async () => {
  await assert.rejects(resolveModelPath('org/tokenizer-only', { env: envFor(freshCache()), progress: false }),
    /org\/tokenizer-only \(revision main\) has no config\.json/);
  const dir = await resolveModelPath('org/tokenizer-only', { env: envFor(freshCache()), requiredFile: 'tokenizer.json', progress: false });
  assert.ok(existsSync(join(dir, 'tokenizer.json')));
  assert.equal(await resolveModelPath(dir, { requiredFile: 'tokenizer.json' }), dir);
});

test('local folders: used as is, or a clear error', async () => {
  const dir = freshCache();
  writeFileSync(join(dir, 'config.json'), '{}');
  assert.equal(await resolveModelPath(dir), dir);
  await assert.rejects(resolveModelPath(join(dir, 'nope')), /model folder .*nope does not exist/);
  const empty = freshCache();
  await assert.rejects(resolveModelPath(empty), /is not a model folder \(no config\.json in it\)/);
  await assert.rejects(resolveModelPath(join(dir, 'config.json')), /is a file, not a model folder/);
});
