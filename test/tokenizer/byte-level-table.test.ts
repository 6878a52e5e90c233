// The rule that admits a tokenizer to the byte-level detokenizer: admitted only when its decode is provably a
// plain byte stream, refused (with the reason) for anything that would make decode do something else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteLevelKind, planByteLevelDecoding } from '../../src/tokenizer/byte-level-table.js';
import { createDetokenizer } from '../../src/tokenizer/create-detokenizer.js';
import { IncrementalDetokenizer } from '../../src/tokenizer/incremental-detokenizer.js';
import { loadTokenizer } from '../../src/tokenizer/tokenizer.js';

/** a tiny GPT-2 style tokenizer.json: "Ġ" is the space byte, "Ċ" the newline byte, "ä¸" two raw bytes */
function byteLevelJson() {
  return {
    decoder: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
    normalizer: { type: 'NFC' },
    model: { type: 'BPE', vocab: { a: 0, 'Ġb': 1, 'Ċ': 2, 'ä¸': 3 }, merges: [] },
    added_tokens: [
      { id: 4, content: '<|end|>', special: true },
      { id: 5, content: '<think>', special: false },
    ],
  };
}

test('a ByteLevel BPE tokenizer is admitted; ids map to their bytes and added tokens to their kind', () => {
  const plan = planByteLevelDecoding(byteLevelJson(), { clean_up_tokenization_spaces: false });
  assert.ok(plan.table, plan.reason);
  const t = plan.table;
  assert.equal(t.size, 6);
  const bytesOf = (id: number) => [...t.bytes.subarray(t.offsets[id]!, t.offsets[id + 1]!)];
  assert.deepEqual(bytesOf(0), [0x61]);
  assert.deepEqual(bytesOf(1), [0x20, 0x62]);
  assert.deepEqual(bytesOf(2), [0x0a]);
  assert.deepEqual(bytesOf(3), [0xe4, 0xb8]);
  assert.deepEqual([...t.kind], [0, 0, 0, 0, ByteLevelKind.Special, ByteLevelKind.Added]);
  assert.equal(t.addedContent[4], '<|end|>');
  assert.equal(t.addedContent[5], '<think>');
});

test('anything that changes decode keeps the general detokenizer, with the reason', () => {
  const cases: Array<[string, (j: ReturnType<typeof byteLevelJson>) => unknown, RegExp]> = [
    ['Sequence decoder', (j) => ({ ...j, decoder: { type: 'Sequence', decoders: [{ type: 'ByteLevel' }] } }), /decoder is Sequence/],
    ['no decoder', (j) => ({ ...j, decoder: null }), /decoder is absent/],
    ['Metaspace decoder', (j) => ({ ...j, decoder: { type: 'Metaspace' } }), /not ByteLevel/],
    ['WordPiece model', (j) => ({ ...j, model: { ...j.model, type: 'WordPiece' } }), /not BPE/],
    ['end_of_word_suffix', (j) => ({ ...j, model: { ...j.model, end_of_word_suffix: '</w>' } }), /end_of_word_suffix/],
    ['a hole in the ids', (j) => ({ ...j, added_tokens: [{ id: 7, content: '<x>', special: true }] }), /id 4 has no token/],
    ['a character outside the alphabet', (j) => ({ ...j, model: { ...j.model, vocab: { ...j.model.vocab, 'a b': 0 } } }), /outside the byte-level alphabet/],
    ['a vocab string equal to an added token', (j) => ({ ...j, model: { ...j.model, vocab: { a: 0, 'Ġb': 1, 'Ċ': 2, '<think>': 3 } } }), /added token's content/],
  ];
  for (const [name, edit, reason] of cases) {
    const plan = planByteLevelDecoding(edit(byteLevelJson()), {});
    assert.equal(plan.table, null, name);
    assert.match(plan.reason ?? '', reason, name);
  }
  const cleanUp = planByteLevelDecoding(byteLevelJson(), { clean_up_tokenization_spaces: true });
  assert.equal(cleanUp.table, null);
  assert.match(cleanUp.reason ?? '', /clean_up_tokenization_spaces/);
});

test('a Metaspace (Llama-2 style) tokenizer streams through the general detokenizer', async () => {
  const tok = await loadTokenizer('test/fixtures/tokenizer/metaspace');
  assert.equal(tok.byteLevelTable, null);
  assert.ok(createDetokenizer(tok, [], {}) instanceof IncrementalDetokenizer);
});
