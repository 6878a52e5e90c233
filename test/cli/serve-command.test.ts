// `serval serve` as users run it (a child process): the seed command fails fast, saying what is missing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname } from 'node:path';

const SEED =
  'serve MODEL --host 0.0.0.0 --port 8080 --gpu-memory-utilization 0.8 --max-model-len 10240 --tensor-parallel-size 2 --guided-decoding-backend outlines --uvicorn-log-level info --served-model-name Qwen/Qwen2.5-14B-Instruct --dtype bfloat16';

function serval(args: string[]) {
  // PATH without nvidia-smi: this machine's GPU count is then 0 whatever it has
  return spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, PATH: dirname(process.execPath) },
  });
}

test('seed command: parses, then fails fast because two CUDA GPUs are missing', () => {
  const t0 = Date.now();
  const r = serval(SEED.split(' '));
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stderr, /--tensor-parallel-size 2 needs 2 CUDA GPUs/);
  assert.match(r.stderr, /no CUDA GPU was found/);
  assert.doesNotMatch(r.stderr, /unknown option|is invalid/);
  assert.ok(Date.now() - t0 < 20_000);
});

test('serve --help lists the flags; an unknown flag suggests the right one', () => {
  const help = serval(['serve', '--help']);
  assert.equal(help.status, 0);
  for (const flag of ['--host', '--port', '--api-key', '--served-model-name', '--dtype', '--max-model-len', '--gpu-memory-utilization', '--tensor-parallel-size', '--guided-decoding-backend', '--structured-outputs-config', '--uvicorn-log-level', '--log-level', '--max-log-len', '--enable-log-requests', '--disable-log-stats', '--max-num-seqs', '--max-num-batched-tokens', '--block-size', '--enable-prefix-caching', '--no-enable-prefix-caching', '--seed', '--chat-template', '--generation-config', '--load-format', '--download-dir', '--revision', '--tokenizer', '--trust-remote-code', '--allowed-origins', '--root-path', '--ssl-keyfile', '--ssl-certfile', '--max-logprobs', '--device', '--config']) {
    assert.ok(help.stdout.includes(flag), `--help lacks ${flag}`);
  }
  const bad = serval(['serve', 'm', '--max-model-length', '10']);
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /unknown option '--max-model-length'[\s\S]*Did you mean --max-model-len\?/);
});
