// Prefix-cache keys: a chained hash over full blocks. Block i's key covers its parent's key, its token ids and (for
// the first block) the request's cache salt, so equal keys mean equal whole prefixes. sha256 truncated to 128 bits:
// collisions are practically impossible, and hashing one 16-token block costs about a microsecond.
import { createHash } from 'node:crypto';

export type BlockHash = string;

export function hashBlock(
  parent: BlockHash | null,
  tokenIds: ArrayLike<number>,
  start: number,
  blockSize: number,
  cacheSalt: string | null,
): BlockHash {
  const h = createHash('sha256');
  if (parent !== null) h.update(parent);
  else if (cacheSalt !== null) h.update('salt:' + cacheSalt + '\0');
  const words = new Int32Array(blockSize);
  for (let i = 0; i < blockSize; i++) words[i] = tokenIds[start + i];
  h.update(new Uint8Array(words.buffer));
  return h.digest('base64url').slice(0, 22);
}
