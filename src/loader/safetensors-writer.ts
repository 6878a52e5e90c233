// Writes safetensors files tensor by tensor (make-test-model produces embeddings of tens of MB; only one tensor
// is in memory at a time).
import { closeSync, openSync, writeSync } from 'node:fs';
import { BYTES_PER_ELEMENT, type StorageDtype } from './dtype-convert.js';

export interface TensorToWrite {
  name: string;
  dtype: StorageDtype;
  shape: number[];
  /** produces the raw little-endian bytes when the writer reaches this tensor */
  bytes: () => Uint8Array;
}

export function byteLengthOf(t: { dtype: StorageDtype; shape: number[] }): number {
  return t.shape.reduce((a, b) => a * b, 1) * BYTES_PER_ELEMENT[t.dtype];
}

export function writeSafetensors(path: string, tensors: TensorToWrite[], metadata: Record<string, string> = {}): void {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const t of tensors) {
    const len = byteLengthOf(t);
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + len] };
    offset += len;
  }
  let json = JSON.stringify(header);
  // The format pads the header with spaces so the data starts 8-byte aligned.
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const headerBytes = Buffer.from(json, 'utf8');
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(headerBytes.length));

  const fd = openSync(path, 'w');
  try {
    writeSync(fd, prefix);
    writeSync(fd, headerBytes);
    for (const t of tensors) {
      const data = t.bytes();
      if (data.length !== byteLengthOf(t)) {
        throw new Error(`tensor "${t.name}": produced ${data.length} bytes, its dtype and shape need ${byteLengthOf(t)}`);
      }
      writeSync(fd, data);
    }
  } finally {
    closeSync(fd);
  }
}
