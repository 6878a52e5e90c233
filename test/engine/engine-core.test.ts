import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makeCore } from './fakes.js';
import { drain, submit } from './run-core.js';

const prompt = (n: number, base = 2) => Array.from({ length: n }, (_, i) => base + ((i * 7) % 40));

test('greedy generation runs to max_tokens and reports text, tokens and metrics', async () => {
  const { core, tokenizer } = makeCore();
  const c = submit(core, 'a', prompt(10), { temperature: 0, maxTokens: 8, ignoreEos: true });
  await drain(core);
  const out = c.final();
  assert.equal(out.outputs.length, 1);
  const o = out.outputs[0];
  assert.equal(o.tokenIds.length, 8);
  assert.equal(o.finishReason, 'length');
  assert.equal(o.text, tokenizer.decode(o.tokenIds));
  assert.ok(out.metrics.firstTokenTime !== null && out.metrics.finishedTime !== null);
  assert.equal(c.outputs.length, 8, 'one output per generated token');
  assert.equal(core.stats().generationTokensTotal, 8);
  assert.equal(core.scheduler.kv.pool.numFreeBlocks, 256, 'all blocks returned');
});

test('a second request with a shared 300-token prefix hits the prefix cache and computes fewer tokens', async () => {
  const { core, model } = makeCore({ blockSize: 16, numBlocks: 128, maxModelLen: 1024, maxNumBatchedTokens: 512 });
  const shared = prompt(300);
  const a = submit(core, 'a', [...shared, 5, 6, 7], { temperature: 0, maxTokens: 4 });
  await drain(core);
  const before = model.computedTokens;
  const b = submit(core, 'b', [...shared, 9, 10], { temperature: 0, maxTokens: 4 });
  await drain(core);
  const computedB = model.computedTokens - before;
  assert.equal(a.final().metrics.numCachedTokens, 0);
  assert.equal(b.final().metrics.numCachedTokens, 288, '18 full blocks of the 300 shared tokens');
  assert.ok(computedB <= 302 - 288 + 4, `b computed ${computedB} tokens`);
  const st = core.stats();
  assert.equal(st.prefixCacheHits, 288);
  assert.equal(st.prefixCacheQueries, 303 + 302);
  // the same prompt with another cache salt shares nothing
  const c = submit(core, 'c', [...shared, 9, 10], { temperature: 0, maxTokens: 1 }, { cacheSalt: 'tenant-2' });
  await drain(core);
  assert.equal(c.final().metrics.numCachedTokens, 0);
});

test('stop strings match across token boundaries, are cut (or kept), and streaming holds back a possible prefix', async () => {
  const { core, tokenizer } = makeCore();
  // only 'l', 'o' and ' ' are allowed: the text is a string over those letters; stops are picked from it
  const forced = async (params: object, id: string, delta = false) => {
    const c = submit(core, id, [2, 3], { temperature: 0, maxTokens: 30, ...params }, { delta });
    await drain(core);
    return c;
  };
  const free = await forced({ allowedTokenIds: tokenizer.encode('lo ') }, 'free');
  const text = free.final().outputs[0].text;
  assert.equal(text.length, 30);
  const stop = text.slice(10, 13);
  const at = text.indexOf(stop);
  const cut = await forced({ allowedTokenIds: tokenizer.encode('lo '), stop: [stop] }, 'cut');
  assert.equal(cut.final().outputs[0].text, text.slice(0, at));
  assert.equal(cut.final().outputs[0].finishReason, 'stop');
  assert.equal(cut.final().outputs[0].stopReason, stop);
  const kept = await forced({ allowedTokenIds: tokenizer.encode('lo '), stop: [stop], includeStopStrInOutput: true }, 'kept');
  assert.equal(kept.final().outputs[0].text, text.slice(0, at + stop.length));
  // streaming deltas never contain the stop string, even partially, and concatenate to the cut text
  const streamed = await forced({ allowedTokenIds: tokenizer.encode('lo '), stop: [stop] }, 'stream', true);
  const joined = streamed.outputs.map((o) => o.outputs.map((x) => x.text).join('')).join('');
  assert.equal(joined, text.slice(0, at));
  for (const o of streamed.outputs.slice(0, -1)) for (const x of o.outputs) assert.ok(!x.text.includes(stop));
});

test('a multi-token stop string split over pieces ("ST"+"OP" and "STOP") is found', async () => {
  const { core, tokenizer } = makeCore();
  const ST = tokenizer.tokenToId('ST')!;
  const OP = tokenizer.tokenToId('OP')!;
  const a = tokenizer.tokenToId('a')!;
  // allowed: a, ST, OP; the bias makes ST then OP likely at some point; check the cut wherever it happens
  const c = submit(core, 's', [2, 3], { temperature: 0, maxTokens: 40, allowedTokenIds: [a, ST, OP], stop: ['TO'] });
  await drain(core);
  const o = c.final().outputs[0];
  const full = tokenizer.decode(o.tokenIds);
  const idx = full.indexOf('TO');
  if (idx >= 0) {
    assert.equal(o.text, full.slice(0, idx));
    assert.equal(o.finishReason, 'stop');
  } else assert.equal(o.finishReason, 'length');
});

test('min_tokens bans EOS and stop tokens until reached; stop_token_ids and EOS end sequences', async () => {
  const { core } = makeCore();
  // allowed only EOS(0) and token 5: greedy picks whichever the fake model prefers; min_tokens forces 5 first
  const c = submit(core, 'm', [2, 3], { temperature: 0, maxTokens: 20, minTokens: 6, allowedTokenIds: [0, 5], logitBias: { '0': 50 } });
  await drain(core);
  const o = c.final().outputs[0];
  assert.deepEqual(o.tokenIds, [5, 5, 5, 5, 5, 5, 0]);
  assert.equal(o.finishReason, 'stop');
  assert.equal(o.stopReason, null);
  assert.equal(o.text, 'ddddd'.padEnd(6, 'd'), 'EOS adds no text');
  const s = submit(core, 't', [2, 3], { temperature: 0, maxTokens: 20, allowedTokenIds: [7, 9], logitBias: { '9': 50 }, stopTokenIds: [9] });
  await drain(core);
  assert.deepEqual(s.final().outputs[0].tokenIds, [9]);
  assert.equal(s.final().outputs[0].stopReason, 9);
  const ig = submit(core, 'i', [2, 3], { temperature: 0, maxTokens: 5, allowedTokenIds: [0], ignoreEos: true });
  await drain(core);
  assert.deepEqual(ig.final().outputs[0].tokenIds, [0, 0, 0, 0, 0]);
});

test('n > 1: independent sequences sharing the prompt blocks; seeded children differ', async () => {
  const { core } = makeCore({ blockSize: 4 });
  const c = submit(core, 'n', prompt(21), { n: 3, temperature: 1, seed: 5, maxTokens: 6, ignoreEos: true });
  await drain(core);
  const out = c.final();
  assert.equal(out.outputs.length, 3);
  assert.deepEqual(out.outputs.map((o) => o.index), [0, 1, 2]);
  for (const o of out.outputs) assert.equal(o.tokenIds.length, 6);
  assert.ok(new Set(out.outputs.map((o) => o.tokenIds.join())).size > 1, 'different seeds per child');
  assert.equal(core.stats().prefixCacheHits, 2 * 20, 'both siblings reuse the 5 full prompt blocks');
  // the same request alone gives the same outputs (seed + index per child)
  const again = submit(core, 'n2', prompt(21), { n: 3, temperature: 1, seed: 5, maxTokens: 6, ignoreEos: true });
  await drain(core);
  assert.deepEqual(again.final().outputs.map((o) => o.tokenIds), out.outputs.map((o) => o.tokenIds));
});

test('logprobs and prompt logprobs have the right shapes', async () => {
  const { core } = makeCore({ maxNumBatchedTokens: 8 });
  const p = prompt(19);
  const c = submit(core, 'lp', p, { temperature: 0, maxTokens: 4, logprobs: 3, promptLogprobs: 2, ignoreEos: true });
  await drain(core);
  const out = c.final();
  const o = out.outputs[0];
  assert.equal(o.logprobs!.length, 4);
  for (let i = 0; i < 4; i++) {
    assert.equal(o.logprobs![i].top.length, 3);
    assert.equal(o.logprobs![i].rank, 1, 'greedy picks the top token');
    assert.equal(o.logprobs![i].top[0].tokenId, o.tokenIds[i]);
  }
  const pl = out.promptLogprobs!;
  assert.equal(pl.length, 19);
  assert.equal(pl[0], null);
  for (let i = 1; i < 19; i++) {
    assert.ok(pl[i] !== null, `prompt logprob ${i} (chunked prefill of 8-token steps)`);
    assert.equal(pl[i]!.top.length, 2);
    assert.ok(pl[i]!.logprob <= 0);
  }
});

test('requests beyond max_model_len are refused with vLLM messages; duplicate ids too', () => {
  const { core } = makeCore({ maxModelLen: 64 });
  assert.throws(() => submit(core, 'x', prompt(40), { maxTokens: 30 }), {
    message:
      "This model's maximum context length is 64 tokens. However, you requested 70 tokens (40 in the messages, 30 in the completion). Please reduce the length of the messages or completion.",
  });
  assert.throws(() => submit(core, 'y', prompt(64), {}), { message: /maximum context length is 64 tokens\. However, you requested 64 tokens in the messages/ });
  submit(core, 'z', prompt(4), { maxTokens: 2 });
  assert.throws(() => submit(core, 'z', prompt(4), {}), /already running/);
  assert.throws(() => submit(core, 'w', [], {}), /prompt cannot be empty/);
  assert.throws(() => submit(core, 'v', [1000], {}), /out of vocabulary/);
  assert.throws(() => submit(core, 'u', [3], { structured: { kind: 'regex', pattern: 'a' } }), /structured output is not available/);
  assert.throws(() => submit(core, 't', [3], {}, { priority: 2 }), { message: 'Got priority 2 but Priority scheduling is not enabled.' });
});

test('max_tokens defaults to the rest of max_model_len', async () => {
  const { core } = makeCore({ maxModelLen: 40 });
  const c = submit(core, 'd', prompt(30), { temperature: 0, ignoreEos: true });
  await drain(core);
  assert.equal(c.final().outputs[0].tokenIds.length, 10);
  assert.equal(c.final().outputs[0].finishReason, 'length');
});

test('bad_words ban single tokens and the last token of a matched multi-token word', async () => {
  const { core, tokenizer } = makeCore();
  const allowed = tokenizer.encode('abc');
  const free = submit(core, 'f', [2, 3], { temperature: 0, maxTokens: 30, allowedTokenIds: allowed });
  await drain(core);
  const text = free.final().outputs[0].text;
  const word = text.slice(3, 5); // a 2-letter word that occurs in the free output
  const banned = submit(core, 'b', [2, 3], { temperature: 0, maxTokens: 30, allowedTokenIds: allowed, badWords: [word] });
  await drain(core);
  assert.ok(!banned.final().outputs[0].text.includes(word), `${word} must not appear`);
  const single = submit(core, 's', [2, 3], { temperature: 0, maxTokens: 30, allowedTokenIds: allowed, badWords: ['a'] });
  await drain(core);
  assert.ok(!single.final().outputs[0].text.includes('a'));
});

test('a failing grammar fails only its own request', async () => {
  const { backend } = await import('./fakes.js').then((m) => m.fakeBackend(64));
  const { EngineCore } = await import('../../src/engine/engine-core.js');
  const { FakeTokenizer, fakeDetokenizer } = await import('./fakes.js');
  const tok = new FakeTokenizer();
  let fills = 0;
  const core = new EngineCore({
    backend,
    tokenizer: tok,
    detokenizer: fakeDetokenizer(tok),
    maxModelLen: 128,
    maxNumSeqs: 8,
    maxNumBatchedTokens: 64,
    schedulingPolicy: 'fcfs',
    enablePrefixCaching: true,
    seed: 0,
    maxLogprobs: 5,
    eosTokenIds: [0],
    grammar: {
      create: () => ({
        fillNextTokenBitmask(out, off) {
          if (++fills > 2) throw new Error('grammar exploded');
          out[off] = 1 << 4; // only token 4
          out[off + 1] = 0;
        },
        acceptToken: (t) => t === 4,
        isTerminated: () => false,
      }),
    },
  });
  const g = submit(core, 'g', [2, 3], { temperature: 0, maxTokens: 10, structured: { kind: 'regex', pattern: 'x' } });
  const ok = submit(core, 'ok', [2, 3], { temperature: 0, maxTokens: 10, ignoreEos: true });
  await drain(core);
  assert.match(g.error!.message, /grammar exploded/);
  assert.deepEqual(g.outputs.flatMap((o) => o.outputs[0].tokenIds).slice(0, 2), [4, 4]);
  assert.equal(ok.final().outputs[0].tokenIds.length, 10);
  assert.equal(core.scheduler.kv.pool.numFreeBlocks, 64);
});

test('a request whose masks exclude every token fails alone', async () => {
  const { core } = makeCore();
  // allowed only EOS, but min_tokens bans EOS: nothing is left
  const bad = submit(core, 'bad', [2, 3], { temperature: 0, maxTokens: 5, minTokens: 2, allowedTokenIds: [0] });
  const good = submit(core, 'good', [2, 3], { temperature: 0, maxTokens: 5, ignoreEos: true });
  await drain(core);
  assert.match(bad.error!.message, /no token can be sampled/);
  assert.equal(good.final().outputs[0].tokenIds.length, 5);
  assert.equal(core.scheduler.kv.pool.numFreeBlocks, 256);
});

test('n > 1 siblings finish independently and stop being scheduled when done', async () => {
  const { core, model } = makeCore();
  const c = submit(core, 'ind', [2, 3, 4], { n: 4, temperature: 1, seed: 3, maxTokens: 40, allowedTokenIds: [0, 5, 6, 7] }, { delta: true });
  await drain(core);
  const final = c.final();
  const byIndex = new Map<number, number[]>();
  for (const o of c.outputs) for (const x of o.outputs) byIndex.set(x.index, [...(byIndex.get(x.index) ?? []), ...x.tokenIds]);
  const lengths = [...byIndex.values()].map((t) => t.length);
  assert.ok(new Set(lengths).size > 1, `siblings end at different lengths: ${lengths}`);
  for (const t of byIndex.values()) assert.ok(t[t.length - 1] === 0 || t.length === 40);
  // each sibling computed its 3 prompt tokens (no full block to share) and every generated token but its last:
  // a finished sibling was never scheduled again
  const generated = lengths.reduce((a, b) => a + b, 0);
  assert.equal(model.computedTokens, 4 * 3 + generated - 4);
  assert.equal(final.finished, true);
  assert.equal(core.scheduler.kv.pool.numFreeBlocks, 256);
});

test("generation_config's max_new_tokens caps the default max_tokens", async () => {
  const { core } = makeCore({ maxModelLen: 64, generationDefaults: { maxTokens: 6 } });
  const c = submit(core, 'g', prompt(10), { temperature: 0, ignoreEos: true });
  const near = submit(core, 'n', prompt(60), { temperature: 0, ignoreEos: true });
  await drain(core);
  assert.equal(c.final().outputs[0].tokenIds.length, 6);
  assert.equal(near.final().outputs[0].tokenIds.length, 4, 'and never exceeds max_model_len');
});

test('prompt logprobs are the same with and without chunked prefill', async () => {
  const p = prompt(37);
  const params = { temperature: 0, maxTokens: 2, promptLogprobs: 3, ignoreEos: true };
  const chunked = makeCore({ maxNumBatchedTokens: 5 });
  const whole = makeCore({ maxNumBatchedTokens: 256 });
  const a = submit(chunked.core, 'a', p, params);
  const b = submit(whole.core, 'b', p, params);
  await drain(chunked.core);
  await drain(whole.core);
  assert.deepEqual(a.final().promptLogprobs, b.final().promptLogprobs);
  // entry i is the logprob of prompt token i
  const lp = a.final().promptLogprobs!;
  for (let i = 1; i < p.length; i++) {
    const top = lp[i]!.top;
    assert.equal(top.length, 3);
    if (lp[i]!.rank === 1) assert.equal(top[0].tokenId, p[i]);
    else assert.ok(lp[i]!.logprob <= top[0].logprob);
  }
});

test('an abort during a running step frees the KV only after the step has written it', async () => {
  const { backend } = await import('./fakes.js').then((m) => m.fakeBackend(64));
  const { EngineCore } = await import('../../src/engine/engine-core.js');
  let release!: () => void;
  let entered!: () => void;
  const inside = new Promise<void>((r) => (entered = r));
  const slow = {
    info: backend.info,
    async execute(b: Parameters<typeof backend.execute>[0]) {
      entered();
      await new Promise<void>((r) => (release = r));
      return backend.execute(b);
    },
    close: () => backend.close(),
  };
  const core = new EngineCore({
    backend: slow,
    tokenizer: null,
    detokenizer: null,
    maxModelLen: 64,
    maxNumSeqs: 4,
    maxNumBatchedTokens: 64,
    schedulingPolicy: 'fcfs',
    enablePrefixCaching: true,
    seed: 0,
    maxLogprobs: 5,
    eosTokenIds: [0],
  });
  const c = submit(core, 'x', prompt(10), { temperature: 0, maxTokens: 5 });
  const step = core.step();
  await inside;
  core.abort('x');
  assert.equal(c.final().outputs[0].finishReason, 'abort', 'the iterator ends at once');
  assert.equal(core.scheduler.kv.pool.numFreeBlocks, 61, 'blocks stay held while the backend writes them');
  release();
  await step;
  assert.equal(core.scheduler.kv.pool.numFreeBlocks, 64);
  assert.equal(core.hasWork(), false);
});
