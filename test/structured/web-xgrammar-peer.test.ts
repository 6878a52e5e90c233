// The benches' web-xgrammar peer (bench/structured/web-xgrammar-peer.ts) answers the same in its own worker thread
// as in the caller's: a compile time for a schema it takes, null for one it refuses, a time per mask along a valid
// output, none when untimed, and an error for masks without a compiled grammar.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { webXgrammarPeer, type PeerPlace } from '../../bench/structured/web-xgrammar-peer.js';
import { qwen } from './qwen-fixture.js';

const q = qwen();
const schema = { type: 'object', properties: { a: { type: 'integer' } }, required: ['a'] };

for (const place of ['own-thread', 'same-thread'] as PeerPlace[]) {
  test(`web-xgrammar peer, ${place}`, { timeout: 120_000 }, async () => {
    const peer = await webXgrammarPeer(place, q);
    try {
      assert.equal(peer.place, place);
      // web-xgrammar refuses lookbehind (its regex converter says so)
      assert.equal(await peer.compile({ type: 'string', pattern: '(?<=a)b' }), null);
      const ms = await peer.compile(schema);
      assert.ok(typeof ms === 'number' && ms > 0, `compile time ${ms}`);
      const ids = q.encode('{"a": 12}');
      const masks = await peer.masks(ids, true);
      // one mask per token: every token of the valid output was accepted
      assert.equal(masks.length, ids.length);
      assert.ok(masks.every((us) => us > 0));
      // masks() freed the grammar
      await assert.rejects(peer.masks(ids, true), /masks\(\) without a compiled grammar/);
      assert.ok((await peer.compile(schema)) !== null);
      assert.deepEqual(await peer.masks(ids, false), []);
    } finally {
      await peer.close();
    }
  });
}
