// OpenAPI's `byte` format (base64 with padding): the strings ajv-formats accepts, through the token masks.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { createGrammarProvider } from '../../src/structured/provider.js';
import { qwen } from './qwen-fixture.js';
import { accepts } from './walk.js';

const require = createRequire(import.meta.url);
const { fullFormats } = require('ajv-formats/dist/formats') as { fullFormats: { byte: (s: string) => boolean } };

test('format byte accepts exactly the base64 strings ajv-formats accepts', () => {
  const q = qwen();
  const provider = createGrammarProvider(q.vocab);
  const schema = { type: 'string', format: 'byte' };
  const hello = Buffer.from('Hello, world!').toString('base64');
  const cases = [
    '', hello, 'SGVsbG8=', 'SGVsbA==', 'SGVs', 'a+b/', Buffer.from([0xff, 0xfe, 0xfd, 0x00]).toString('base64'),
    'SGVsbG8', 'SGVsbG8==', 'SGV=bG8=', 'SGVsbG8===', 'SGVs bG8=', 'SGVsbG8-', '====', 'é===',
  ];
  let valid = 0;
  for (const text of cases) {
    const want = fullFormats.byte(text);
    if (want) valid++;
    assert.equal(accepts(provider.create({ kind: 'json', schema }), q.encode(JSON.stringify(text))), want, JSON.stringify(text));
  }
  assert.ok(valid >= 6 && valid < cases.length, `${valid} of ${cases.length} valid`);
});
