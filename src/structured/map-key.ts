// Map keys from 32-bit hashes. V8 keeps integers of up to 31 bits (signed) unboxed; a Map key outside that range is a
// heap number allocated at every get and set. The mask path's caches keyed by a hash (buckets of equal hashes, whose
// entries are compared in full) take 30 bits of it.

/** `hash` as a Map key V8 does not box (bucketed lookups compare their entries, so the lost bits cost nothing) */
export function mapKey(hash: number): number {
  return hash & 0x3fffffff;
}
