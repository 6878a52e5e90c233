// The mask workers' idle work: it runs only after a quiet spell without messages, one step at a time, and a message
// stops it until the thread is quiet again (mock timers: the steps' setImmediate chain runs within a tick).
import { test, mock } from 'node:test';
import assert from 'node:assert/strict';
import { IdleWork } from '../../src/structured/workers/idle-work.js';

function* counted(log: string[], name: string, steps: number, during?: (i: number) => void): Generator<void> {
  for (let i = 0; i < steps; i++) {
    log.push(`${name}${i}`);
    during?.(i);
    yield;
  }
}

test('idle work waits for quiet, stops when a message comes, and then goes on in order', () => {
  mock.timers.enable({ apis: ['setTimeout', 'setImmediate'] });
  try {
    const log: string[] = [];
    const idle = new IdleWork(5);
    // a message arrives while step a0 runs
    idle.add(counted(log, 'a', 3, (i) => i === 0 && idle.busy()));
    idle.add(counted(log, 'b', 2));
    assert.equal(idle.pending, 2);
    mock.timers.tick(4);
    assert.deepEqual(log, [], 'not before the quiet spell');
    idle.busy();
    mock.timers.tick(4);
    assert.deepEqual(log, [], 'a message restarts the quiet spell');
    mock.timers.tick(1);
    assert.deepEqual(log, ['a0'], 'the message during a0 stops the chain after that step');
    mock.timers.tick(4);
    assert.deepEqual(log, ['a0']);
    mock.timers.tick(1);
    assert.deepEqual(log, ['a0', 'a1', 'a2', 'b0', 'b1'], 'quiet again: the jobs go on in order to their end');
    assert.equal(idle.pending, 0);
    mock.timers.tick(100);
    assert.equal(log.length, 5, 'nothing more to do');
  } finally {
    mock.timers.reset();
  }
});
