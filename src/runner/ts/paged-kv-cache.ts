// The ts backend's paged KV cache: per layer, one Float32Array for K and one for V, each laid out as
// [numBlocks * blockSize slots, numKvHeads, headDim]. Slot s = block * blockSize + offset (the batch's slotMapping).
export class PagedKvCache {
  readonly keys: Float32Array[];
  readonly values: Float32Array[];
  /** floats per slot (all kv heads of one token in one layer) */
  readonly slotWidth: number;

  constructor(
    readonly numLayers: number,
    readonly numBlocks: number,
    readonly blockSize: number,
    numKvHeads: number,
    headDim: number,
  ) {
    if (!Number.isInteger(numBlocks) || numBlocks < 1) throw new Error(`numBlocks must be a positive integer, got ${numBlocks}`);
    if (!Number.isInteger(blockSize) || blockSize < 1) throw new Error(`blockSize must be a positive integer, got ${blockSize}`);
    this.slotWidth = numKvHeads * headDim;
    const floats = numBlocks * blockSize * this.slotWidth;
    this.keys = Array.from({ length: numLayers }, () => new Float32Array(floats));
    this.values = Array.from({ length: numLayers }, () => new Float32Array(floats));
  }

  get numSlots(): number {
    return this.numBlocks * this.blockSize;
  }

  /** bytes of K and V for one block across all layers */
  static bytesPerBlock(numLayers: number, blockSize: number, numKvHeads: number, headDim: number): number {
    return 2 * numLayers * blockSize * numKvHeads * headDim * Float32Array.BYTES_PER_ELEMENT;
  }

  /** copies one token's K and V (slotWidth floats each, at kOff/vOff) into `slot` of `layer` */
  write(layer: number, slot: number, k: Float32Array, kOff: number, v: Float32Array, vOff: number): void {
    const dst = slot * this.slotWidth;
    this.keys[layer]!.set(k.subarray(kOff, kOff + this.slotWidth), dst);
    this.values[layer]!.set(v.subarray(vOff, vOff + this.slotWidth), dst);
  }
}
