// JSON-Schema-Test-Suite draft2020-12: every instance of every case our compiler supports, compact and pretty.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createGrammarProvider } from '../../src/structured/provider.js';
import { qwen, SHARED_DATA } from './qwen-fixture.js';
import { runSuite } from './schema-suite.js';

const dir = join(SHARED_DATA, 'json-schema-test-suite', 'tests', 'draft2020-12');

test('JSON-Schema-Test-Suite draft2020-12: 0 invalid instances accepted', { skip: !existsSync(dir) && `missing ${dir}` }, () => {
  const q = qwen();
  const c = runSuite(dir, createGrammarProvider(q.vocab), q.encode);
  console.log(
    `cases ${c.cases}: compiled ${c.compiledCases}, refused with a compile error ${c.unsupportedCases}\n` +
      `valid instances accepted as serialized: ${c.validAccepted}; accepted after re-serializing in schema order: ` +
      `${c.validNonCanonicalAcceptedAfterReorder}; rejected (non-canonical or stricter than the spec): ${c.validRejected}\n` +
      `invalid instances rejected: ${c.invalidRejected}; invalid accepted: ${c.invalidAccepted.length}`,
  );
  for (const [reason, n] of [...c.unsupportedReasons].sort((a, b) => b[1] - a[1])) console.log(`  refused ${n}x: ${reason}`);
  for (const v of c.validRejectedExamples) console.log(`  valid rejected: ${v}`);
  assert.deepEqual(c.invalidAccepted, []);
  // regression guards on coverage: what compiles today keeps compiling and accepting
  assert.ok(c.compiledCases >= 150, `compiled ${c.compiledCases}`);
  assert.ok(c.validAccepted + c.validNonCanonicalAcceptedAfterReorder >= 340, `valid accepted ${c.validAccepted}`);
  assert.ok(c.invalidRejected >= 200);
});
