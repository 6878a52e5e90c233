// The final output of a request's async iterator (tests that only check where a request ended).
import assert from 'node:assert/strict';
import type { RequestOutput } from '../../src/engine/types.js';

export async function lastOutput(it: AsyncIterable<RequestOutput>): Promise<RequestOutput> {
  let out: RequestOutput | null = null;
  for await (const o of it) out = o;
  assert.ok(out, 'the request ended without output');
  return out;
}
