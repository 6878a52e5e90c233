// A TokenVocab as a few flat typed arrays, so it crosses to a worker thread as one cheap structured clone instead
// of ~150,000 small arrays.
import type { TokenVocab } from '../token-vocab.js';

export interface PackedVocab {
  size: number;
  eosIds: number[];
  /** every text token's bytes, back to back */
  bytes: Uint8Array;
  /** token t's bytes are bytes[start[t] .. start[t + 1]); [size + 1] */
  start: Int32Array;
  /** 1 = the token has bytes (text), 0 = null (special or padding id) */
  isText: Uint8Array;
}

export function packVocab(vocab: TokenVocab): PackedVocab {
  const start = new Int32Array(vocab.size + 1);
  const isText = new Uint8Array(vocab.size);
  let total = 0;
  for (let t = 0; t < vocab.size; t++) {
    start[t] = total;
    const b = vocab.tokenBytes[t];
    if (b) {
      isText[t] = 1;
      total += b.length;
    }
  }
  start[vocab.size] = total;
  const bytes = new Uint8Array(total);
  for (let t = 0; t < vocab.size; t++) {
    const b = vocab.tokenBytes[t];
    if (b) bytes.set(b, start[t]!);
  }
  return { size: vocab.size, eosIds: [...vocab.eosIds], bytes, start, isText };
}

export function unpackVocab(p: PackedVocab): TokenVocab {
  const tokenBytes: Array<Uint8Array | null> = new Array(p.size);
  for (let t = 0; t < p.size; t++) tokenBytes[t] = p.isText[t] ? p.bytes.subarray(p.start[t]!, p.start[t + 1]!) : null;
  return { size: p.size, tokenBytes, eosIds: p.eosIds };
}
