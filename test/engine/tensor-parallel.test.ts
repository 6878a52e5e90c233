import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AsyncEngine } from '../../src/engine/async-engine.js';

test('tensor parallelism is refused by name instead of silently running on one GPU', async () => {
  await assert.rejects(AsyncEngine.create({ tensorParallelSize: 2, device: 'ts' }), /--tensor-parallel-size 2 is not implemented yet/);
});
