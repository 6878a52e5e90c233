import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { runStructuredCheck } from '../../src/cli/commands/structured.js';
import { QWEN_DIR, REPO_ROOT } from './qwen-fixture.js';

const fixtures = join(REPO_ROOT, 'test', 'fixtures', 'structured');

test('structured check --json: accepted, first rejected token with its byte offset, incomplete output', async () => {
  const lines: string[] = [];
  const ok = await runStructuredCheck(
    { model: QWEN_DIR, schema: join(fixtures, 'cpe-schema.json'), jsonl: join(fixtures, 'cpe-instances.jsonl'), json: true },
    (l) => lines.push(l),
  );
  assert.equal(ok, false);
  const [a, b, c] = lines.map((l) => JSON.parse(l));
  assert.equal(a.accepted, true);
  assert.equal(a.eosAllowedAtEnd, true);
  assert.equal(b.accepted, false);
  assert.equal(b.firstRejected.tokenText, '1');
  assert.equal(b.firstRejected.byteOffset, '{"cpe": ['.length);
  assert.equal(c.accepted, false);
  assert.equal(c.firstRejected, null);
  assert.equal(c.eosAllowedAtEnd, false);
});

test('structured check: regex and choice in human-readable form; exactly one constraint required', async () => {
  const lines: string[] = [];
  assert.equal(await runStructuredCheck({ model: QWEN_DIR, choice: 'yes,no', text: join(fixtures, 'cpe-schema.json') }, (l) => lines.push(l)), false);
  assert.match(lines[0]!, /rejected at token 0/);
  await assert.rejects(runStructuredCheck({ model: QWEN_DIR, regex: 'a', choice: 'a', text: 'x' }, () => {}), /exactly one/);
});
