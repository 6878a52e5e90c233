import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommanderError } from 'commander';
import { createServeCommand } from '../../src/config/serve-flags.js';
import { resolveServeConfig, type ServeConfig, type ServeFlags } from '../../src/config/serve-config.js';
import { engineFlagOptions, resolveEngineFlags } from '../../src/batch/engine-flags.js';

/** every serve flag's default under the given ones (what commander hands the action) */
function withDefaults(flags: ServeFlags): ServeFlags {
  const defaults: Record<string, unknown> = {};
  for (const o of createServeCommand().options) if (o.defaultValue !== undefined) defaults[o.attributeName()] = o.defaultValue;
  return { ...defaults, ...flags } as ServeFlags;
}

/** parses `serval serve ARGS` and resolves it; throws CommanderError (message) on a parse error */
function parse(args: string[], env: NodeJS.ProcessEnv = {}): ServeConfig {
  const cmd = createServeCommand();
  let result: ServeConfig | null = null;
  let stderr = '';
  cmd.exitOverride().configureOutput({ writeErr: (s) => (stderr += s), writeOut: () => {} });
  cmd.action((model: string | undefined, flags: ServeFlags) => {
    result = resolveServeConfig(model, flags, env);
  });
  try {
    cmd.parse(args, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) throw new Error(stderr || e.message);
    throw e;
  }
  return result!;
}

const SEED = '--host 0.0.0.0 --port 8080 --gpu-memory-utilization 0.8 --max-model-len 10240 --tensor-parallel-size 2 --guided-decoding-backend outlines --uvicorn-log-level info --served-model-name Qwen/Qwen2.5-14B-Instruct --dtype bfloat16'.split(' ');

test('the seed command parses unchanged', () => {
  const c = parse(['/models/qwen', ...SEED]);
  assert.equal(c.engineArgs.model, '/models/qwen');
  assert.equal(c.server.host, '0.0.0.0');
  assert.equal(c.server.port, 8080);
  assert.equal(c.engineArgs.gpuMemoryUtilization, 0.8);
  assert.equal(c.engineArgs.maxModelLen, 10240);
  assert.equal(c.engineArgs.tensorParallelSize, 2);
  assert.equal(c.engineArgs.dtype, 'bfloat16');
  assert.deepEqual(c.server.servedModelNames, ['Qwen/Qwen2.5-14B-Instruct']);
  assert.equal(c.log.httpLevel, 'info');
  assert.ok(c.notes.some((n) => n.includes('--guided-decoding-backend outlines') && n.includes("serval's own structured-output engine")));
});

test('defaults are vLLM\'s', () => {
  const c = parse([]);
  assert.equal(c.engineArgs.model, undefined);
  assert.equal(c.server.port, 8000);
  assert.equal(c.server.host, undefined);
  assert.equal(c.engineArgs.maxModelLen, null);
  assert.equal(c.engineArgs.gpuMemoryUtilization, 0.9);
  assert.equal(c.engineArgs.tensorParallelSize, 1);
  assert.equal(c.engineArgs.maxNumSeqs, 256);
  assert.equal(c.engineArgs.blockSize, 16);
  assert.equal(c.engineArgs.enablePrefixCaching, true);
  assert.equal(c.engineArgs.seed, 0);
  assert.equal(c.engineArgs.maxLogprobs, 20);
  assert.deepEqual(c.server.cors.origins, ['*']);
  assert.deepEqual(c.server.apiKeys, []);
  assert.deepEqual(c.server.servedModelNames, ['serval-demo']);
  assert.equal(c.log.level, 'info');
  assert.equal(c.log.disableLogStats, false);
});

test('max-model-len 10k / 32K, -tp, --model, repeated --api-key, several served names, booleans', () => {
  assert.equal(parse(['m', '--max-model-len', '10k']).engineArgs.maxModelLen, 10000);
  assert.equal(parse(['m', '--max-model-len', '32K']).engineArgs.maxModelLen, 32768);
  assert.equal(parse(['m', '--max-num-batched-tokens', '8k']).engineArgs.maxNumBatchedTokens, 8000);
  assert.equal(parse(['m', '-tp', '4']).engineArgs.tensorParallelSize, 4);
  assert.equal(parse(['m', '-tp=3']).engineArgs.tensorParallelSize, 3);
  assert.equal(parse(['--model', 'x/y']).engineArgs.model, 'x/y');
  const c = parse(['m', '--api-key', 'a', '--api-key', 'b', '--served-model-name', 'one', 'two', '--no-enable-prefix-caching', '--disable-log-stats', '--enable-log-requests', '--max-log-len', '40']);
  assert.deepEqual(c.server.apiKeys, ['a', 'b']);
  assert.deepEqual(c.server.servedModelNames, ['one', 'two']);
  assert.equal(c.engineArgs.enablePrefixCaching, false);
  assert.equal(c.log.disableLogStats, true);
  assert.equal(c.server.enableLogRequests, true);
  assert.equal(c.server.maxLogLen, 40);
  assert.deepEqual(parse(['m', '--allowed-origins', '["http://a.test","http://b.test"]']).server.cors.origins, ['http://a.test', 'http://b.test']);
  assert.equal(parse(['m', '--dtype', 'half']).engineArgs.dtype, 'float16');
  assert.equal(parse(['m', '--device', 'cpu', '--load-format', 'dummy']).engineArgs.loadFormat, 'dummy');
  assert.deepEqual(parse(['m', '--structured-outputs-config', '{"backend":"xgrammar","disable_any_whitespace":true}']).server.structuredDefaults, { disableAnyWhitespace: true });
  // vLLM's backend options after a colon set the same defaults; --structured-outputs-config's own keys win
  assert.deepEqual(parse(['m', '--guided-decoding-backend', 'xgrammar:disable-any-whitespace,no-fallback']).server.structuredDefaults, { disableAnyWhitespace: true });
  assert.deepEqual(parse(['m', '--guided-decoding-backend', 'guidance:no-additional-properties']).server.structuredDefaults, { disableAdditionalProperties: true });
  assert.deepEqual(
    parse(['m', '--guided-decoding-backend', 'xgrammar:disable-any-whitespace,no-additional-properties', '--structured-outputs-config', '{"disable_any_whitespace":false}']).server.structuredDefaults,
    { disableAnyWhitespace: false, disableAdditionalProperties: true },
  );
  const t = parse(['m', '--trust-remote-code']);
  assert.ok(t.notes.some((n) => /no remote code/.test(n)));
});

test("--kv-cache-dtype: auto (the model's dtype) by default, bfloat16 or float16; fp8 and others refused by name", () => {
  assert.equal(parse(['m']).engineArgs.kvCacheDtype, 'auto');
  assert.equal(parse(['m', '--kv-cache-dtype', 'float16']).engineArgs.kvCacheDtype, 'float16');
  assert.equal(parse(['m', '--kv-cache-dtype', 'bfloat16', '--dtype', 'bfloat16']).engineArgs.kvCacheDtype, 'bfloat16');
  assert.throws(() => parse(['m', '--kv-cache-dtype', 'fp8']), /'--kv-cache-dtype <dtype>' argument 'fp8' is invalid\. --kv-cache-dtype "fp8" is not supported by serval \(supported: auto, bfloat16, float16; fp8 K\/V caches are not implemented\)/);
  assert.throws(() => parse(['m', '--kv-cache-dtype', 'fp8_e5m2']), /"fp8_e5m2" is not supported by serval/);
  // a caller handing the resolver an unchecked value (no commander parser on that path) gets the same refusal
  const flags = { ...createServeCommand().opts(), port: 8000, kvCacheDtype: 'int8' } as unknown as ServeFlags;
  assert.throws(() => resolveServeConfig('m', withDefaults(flags)), /--kv-cache-dtype "int8" is not supported by serval/);
});

test('--kv-cache-dtype is an engine flag of run-batch and bench throughput too', () => {
  const longs = engineFlagOptions().map((o) => o.long);
  assert.ok(longs.includes('--kv-cache-dtype'));
  assert.equal(resolveEngineFlags('m', { kvCacheDtype: 'float16' }).engineArgs.kvCacheDtype, 'float16');
  assert.equal(resolveEngineFlags('m', {}).engineArgs.kvCacheDtype, 'auto');
});

test('API keys from SERVAL_API_KEY, then VLLM_API_KEY; flags win', () => {
  assert.deepEqual(parse(['m'], { VLLM_API_KEY: 'v' }).server.apiKeys, ['v']);
  assert.deepEqual(parse(['m'], { VLLM_API_KEY: 'v', SERVAL_API_KEY: 's' }).server.apiKeys, ['s']);
  assert.deepEqual(parse(['m', '--api-key', 'f'], { SERVAL_API_KEY: 's' }).server.apiKeys, ['f']);
  assert.equal(parse(['m'], { VLLM_LOGGING_LEVEL: 'DEBUG' }).log.level, 'debug');
});

test('unknown flag and bad values are errors with a suggestion', () => {
  assert.throws(() => parse(['m', '--prot', '1']), /unknown option '--prot'[\s\S]*Did you mean --port\?/);
  assert.throws(() => parse(['m', '--max-model-len', '10q']), /'--max-model-len <len>' argument '10q' is invalid.*10k/);
  assert.throws(() => parse(['m', '--port', 'eighty']), /Expected a whole number, e\.g\. 8000/);
  assert.throws(() => parse(['m', '--gpu-memory-utilization', '1.5']), /fraction in \(0, 1\], e\.g\. 0\.9/);
  assert.throws(() => parse(['m', '--dtype', 'bf16']), /Allowed choices are auto, half, float16, bfloat16, float, float32/);
  assert.throws(() => parse(['m', '--guided-decoding-backend', 'foo']), /backend 'foo' is unknown; use one of auto, xgrammar, guidance, outlines, lm-format-enforcer/);
  assert.throws(() => parse(['m', '--guided-decoding-backend', 'xgrammar:fast']), /backend option 'fast' is unknown; use no-fallback, disable-any-whitespace, no-additional-properties/);
  assert.throws(() => parse(['m', '--block-size', '12']), /Allowed choices are 1, 8, 16, 32, 64, 128/);
  assert.throws(() => parse(['m', '--structured-outputs-config', '{"bakend":1}']), /unknown key 'bakend'/);
  assert.throws(() => parse(['m', '--ssl-keyfile', 'k.pem']), /TLS needs both --ssl-keyfile and --ssl-certfile/);
  assert.throws(() => parse(['a', '--model', 'b']), /two different models/);
  assert.throws(() => parse(['m', '--ssl-keyfile', '/nonexistent/k.pem', '--ssl-certfile', '/nonexistent/c.pem']), /--ssl-keyfile \/nonexistent\/k\.pem: no such file/);
  assert.throws(() => parse(['m', '--chat-template', '/nonexistent/t.jinja']), /--chat-template \/nonexistent\/t\.jinja: no such file/);
});

test('--config YAML: keys as flag names, command line wins, unknown key suggests', () => {
  const dir = mkdtempSync(join(tmpdir(), 'serval-cfg-'));
  const file = join(dir, 'config.yaml');
  writeFileSync(
    file,
    ['model: /models/from-yaml', 'port: 9000', 'max-model-len: 32K', 'served_model_name:', '  - a', '  - b', 'enable-prefix-caching: false', 'disable-log-stats: true', 'api-key: [k1, k2]', 'allowed-origins: ["http://x.test"]', 'gpu-memory-utilization: 0.5'].join('\n'),
  );
  const c = parse(['--config', file, '--port', '9100']);
  assert.equal(c.engineArgs.model, '/models/from-yaml');
  assert.equal(c.server.port, 9100);
  assert.equal(c.engineArgs.maxModelLen, 32768);
  assert.deepEqual(c.server.servedModelNames, ['a', 'b']);
  assert.equal(c.engineArgs.enablePrefixCaching, false);
  assert.equal(c.log.disableLogStats, true);
  assert.deepEqual(c.server.apiKeys, ['k1', 'k2']);
  assert.deepEqual(c.server.cors.origins, ['http://x.test']);
  assert.equal(c.engineArgs.gpuMemoryUtilization, 0.5);

  writeFileSync(file, 'prot: 1\n');
  assert.throws(() => parse(['--config', file]), /unknown key 'prot' \(did you mean 'port'\?\)/);
  writeFileSync(file, 'port: eighty\n');
  assert.throws(() => parse(['--config', file]), /'--port <port>' argument 'eighty' is invalid/);
  assert.throws(() => parse(['--config', join(dir, 'missing.yaml')]), /cannot read --config/);
});

test('--structured-output-workers reaches the engine args (unset: the engine picks; negative: error)', () => {
  assert.equal(parse(['m']).engineArgs.structuredOutputWorkers, undefined);
  assert.equal(parse(['m', '--structured-output-workers', '0']).engineArgs.structuredOutputWorkers, 0);
  assert.equal(parse(['m', '--structured-output-workers', '3']).engineArgs.structuredOutputWorkers, 3);
  assert.throws(() => parse(['m', '--structured-output-workers', '-1']), /Must be at least 0/);
});

test('--structured-output-mask-grace-ms reaches the engine args (default 1 ms; 0 allowed; negative: error)', () => {
  assert.equal(parse(['m']).engineArgs.structuredOutputMaskGraceMs, 1);
  assert.equal(parse(['m', '--structured-output-mask-grace-ms', '0']).engineArgs.structuredOutputMaskGraceMs, 0);
  assert.equal(parse(['m', '--structured-output-mask-grace-ms', '2.5']).engineArgs.structuredOutputMaskGraceMs, 2.5);
  assert.throws(() => parse(['m', '--structured-output-mask-grace-ms', '-1']), /Expected a number >= 0/);
  assert.throws(() => parse(['m', '--structured-output-mask-grace-ms', 'soon']), /Expected a number >= 0/);
});

test('--tokenizer-pool-size reaches the engine args', () => {
  assert.equal(parse(['m']).engineArgs.tokenizerPoolSize, undefined);
  assert.equal(parse(['m', '--tokenizer-pool-size', '0']).engineArgs.tokenizerPoolSize, 0);
  assert.equal(parse(['m', '--tokenizer-pool-size', '6']).engineArgs.tokenizerPoolSize, 6);
  assert.throws(() => parse(['m', '--tokenizer-pool-size', 'x']), /Expected a whole number/);
});
