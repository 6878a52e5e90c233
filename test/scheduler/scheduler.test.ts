import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Scheduler, type SchedulerConfig } from '../../src/scheduler/scheduler.js';
import { Sequence } from '../../src/scheduler/sequence.js';
import { defaultRowSampling } from '../../src/runner/sampler.js';

let arrivals = 0;
function mkSeq(id: string, promptLen: number, priority = 0, tokenBase = 0): Sequence {
  return new Sequence({
    id,
    arrivalIndex: arrivals++,
    priority,
    promptTokenIds: Array.from({ length: promptLen }, (_, i) => tokenBase + i),
    sampling: defaultRowSampling(),
  });
}
function mk(over: Partial<SchedulerConfig> = {}): Scheduler {
  return new Scheduler({ maxNumSeqs: 8, maxNumBatchedTokens: 64, policy: 'fcfs', numBlocks: 64, blockSize: 4, enablePrefixCaching: true, ...over });
}
/** pretend the backend ran the step and sampled token 7 for every sampled row */
function finishStep(s: Scheduler, step: NonNullable<ReturnType<Scheduler['schedule']>>): void {
  s.commitStep(step);
  for (const seq of step.sampleSeqs) seq.appendOutputToken(7);
}
const rowLens = (b: { queryStartLoc: Int32Array; numRows: number }) =>
  Array.from({ length: b.numRows }, (_, r) => b.queryStartLoc[r + 1] - b.queryStartLoc[r]);

test('chunked prefill within the token budget, running rows first, then decode of 1 token per row', () => {
  const s = mk({ maxNumBatchedTokens: 10 });
  const a = mkSeq('a', 14);
  const b = mkSeq('b', 3);
  s.addSequence(a);
  s.addSequence(b);
  let step = s.schedule()!;
  assert.deepEqual(rowLens(step.batch), [10], 'a takes the whole budget; b waits');
  assert.equal(step.batch.sampleRows.length, 0, 'a partial prefill chunk samples nothing');
  assert.deepEqual([...step.batch.positions], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  finishStep(s, step);
  step = s.schedule()!;
  assert.deepEqual(step.rows.map((r) => r.id), ['a', 'b']);
  assert.deepEqual(rowLens(step.batch), [4, 3]);
  assert.deepEqual([...step.batch.sampleRows], [0, 1]);
  assert.deepEqual([...step.batch.contextLens], [14, 3]);
  // slot mapping follows the block table
  const bt = step.batch.blockTables;
  for (let t = 0; t < step.batch.numTokens; t++) {
    const r = t < 4 ? 0 : 1;
    const p = step.batch.positions[t];
    assert.equal(step.batch.slotMapping[t], bt[r * step.batch.maxBlocksPerRow + Math.floor(p / 4)] * 4 + (p % 4));
  }
  finishStep(s, step);
  step = s.schedule()!;
  assert.deepEqual(rowLens(step.batch), [1, 1]);
  assert.deepEqual([...step.batch.tokenIds], [7, 7]);
  assert.deepEqual([...step.batch.positions], [14, 3]);
});

test('maxNumSeqs caps the running set', () => {
  const s = mk({ maxNumSeqs: 2 });
  for (let i = 0; i < 4; i++) s.addSequence(mkSeq('r' + i, 2));
  const step = s.schedule()!;
  assert.equal(step.batch.numRows, 2);
  assert.equal(s.numWaiting, 2);
});

test('FCFS preempts the newest running sequence by recompute and resumes it first', () => {
  // 4 blocks of 4 tokens: a and b take 2 blocks each for prompt 8; the next token needs a 3rd block
  const s = mk({ numBlocks: 4, enablePrefixCaching: false });
  const a = mkSeq('a', 8);
  const b = mkSeq('b', 8);
  const c = mkSeq('c', 2);
  s.addSequence(a);
  s.addSequence(b);
  let step = s.schedule()!;
  assert.deepEqual(step.rows.map((r) => r.id), ['a', 'b']);
  finishStep(s, step);
  s.addSequence(c);
  step = s.schedule()!;
  assert.deepEqual(step.preempted.map((r) => r.id), ['b']);
  assert.deepEqual(step.rows.map((r) => r.id), ['a'], 'no admissions in a step that preempted');
  assert.equal(b.numComputedTokens, 0);
  assert.equal(s.numPreemptions, 1);
  finishStep(s, step);
  s.finish(a);
  step = s.schedule()!;
  assert.deepEqual(step.rows.map((r) => r.id), ['b', 'c'], 'the preempted sequence goes before later arrivals');
  assert.equal(rowLens(step.batch)[0], 9, 'b recomputes prompt + its generated token');
  assert.equal(step.batch.sampleRows.length, 2);
});

test('priority policy admits lower values first and preempts the lowest priority', () => {
  const s = mk({ policy: 'priority', numBlocks: 4, maxNumBatchedTokens: 64 });
  const low = mkSeq('low', 8, 5);
  const high = mkSeq('high', 8, 0);
  s.addSequence(low);
  s.addSequence(high);
  let step = s.schedule()!;
  assert.deepEqual(step.rows.map((r) => r.id), ['high', 'low']);
  finishStep(s, step);
  step = s.schedule()!;
  assert.deepEqual(step.preempted.map((r) => r.id), ['low']);
  assert.deepEqual(step.rows.map((r) => r.id), ['high']);
});

test('priority preemption: the lowest-priority sequence preempts itself and later rows still run', () => {
  const s = mk({ policy: 'priority', numBlocks: 4, maxNumBatchedTokens: 64 });
  const low = mkSeq('low', 7, 5);
  s.addSequence(low);
  finishStep(s, s.schedule()!);
  const high = mkSeq('high', 8, 0);
  s.addSequence(high);
  let step = s.schedule()!;
  assert.deepEqual(step.rows.map((r) => r.id), ['low', 'high']);
  finishStep(s, step);
  // low needs a 3rd block and is the lowest priority: it is preempted, high uses the blocks it freed
  step = s.schedule()!;
  assert.deepEqual(step.preempted.map((r) => r.id), ['low']);
  assert.deepEqual(step.rows.map((r) => r.id), ['high']);
});

test('priority preemption evicts a row already scheduled this step and returns its budget', () => {
  const s = mk({ policy: 'priority', numBlocks: 5, maxNumBatchedTokens: 64 });
  const low = mkSeq('low', 4, 5);
  const high = mkSeq('high', 12, 0, 100);
  s.addSequence(low);
  finishStep(s, s.schedule()!); // low: 4 prompt + 1 output, 1 block
  s.addSequence(high);
  let step = s.schedule()!; // low decodes (needs its block 2); high prefills 12 → 3 blocks: all 5 used
  assert.deepEqual(step.rows.map((r) => r.id), ['low', 'high']);
  finishStep(s, step);
  // low fits its next token; high needs a 4th block and preempts low, which was already scheduled this step
  step = s.schedule()!;
  assert.deepEqual(step.preempted.map((r) => r.id), ['low']);
  assert.deepEqual(step.rows.map((r) => r.id), ['high']);
  assert.equal(step.batch.numTokens, 1, 'the evicted row gave back its tokens');
});

test('finished sequences free their blocks', () => {
  const s = mk({ numBlocks: 8 });
  const a = mkSeq('a', 10);
  s.addSequence(a);
  finishStep(s, s.schedule()!);
  assert.equal(s.kv.pool.numFreeBlocks, 5);
  s.finish(a);
  assert.equal(s.kv.pool.numFreeBlocks, 8);
  assert.equal(s.hasWork(), false);
  assert.equal(s.schedule(), null);
});

test('n > 1 siblings wait for the leader prompt and then share its blocks', () => {
  const s = mk();
  const leader = mkSeq('0_r', 12);
  const child = new Sequence({ id: '1_r', arrivalIndex: leader.arrivalIndex, promptTokenIds: leader.tokenIds.slice(), sampling: defaultRowSampling(), prefillLeader: leader });
  s.addSequence(leader);
  s.addSequence(child);
  let step = s.schedule()!;
  assert.deepEqual(step.rows.map((r) => r.id), ['0_r']);
  finishStep(s, step);
  step = s.schedule()!;
  assert.deepEqual(step.rows.map((r) => r.id), ['0_r', '1_r']);
  assert.equal(child.numCachedTokens, 8);
  assert.deepEqual(child.kv.blocks.slice(0, 2), leader.kv.blocks.slice(0, 2));
});

test('deferSample: a row whose sampled token the engine discarded recomputes its last token at the same slot next step', () => {
  const s = mk();
  const a = mkSeq('a', 8); // two full blocks of 4
  s.addSequence(a);
  let step = s.schedule()!;
  s.commitStep(step);
  s.deferSample(a); // the engine discarded the prefill's sampled token
  assert.equal(a.numComputedTokens, 7);
  assert.equal(a.kv.numCachedBlocks, 2, 'the full blocks computed by the step stay registered');
  step = s.schedule()!;
  assert.deepEqual(rowLens(step.batch), [1]);
  assert.deepEqual([...step.batch.positions], [7]);
  assert.deepEqual([...step.batch.tokenIds], [7]);
  assert.equal(step.batch.slotMapping[0], a.kv.blocks[1]! * 4 + 3, 'the same KV slot is rewritten');
  assert.deepEqual([...step.batch.sampleRows], [0]);
  assert.equal(a.kv.blocks.length, 2, 'no new block');
  finishStep(s, step);
  assert.equal(a.numComputedTokens, 8);
  // a row that sampled nothing cannot defer its sample
  const b = mkSeq('b', 20);
  s.addSequence(b);
  const chunk = mk({ maxNumBatchedTokens: 4 });
  chunk.addSequence(b);
  chunk.schedule();
  assert.throws(() => chunk.deferSample(b), /deferSample for b, which sampled nothing this step \(4 of 20 tokens computed\)/);
});
