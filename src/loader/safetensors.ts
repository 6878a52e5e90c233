// Safetensors checkpoints, single-file (model.safetensors) or sharded (model.safetensors.index.json).
// Only headers are parsed up front; each tensor is read on demand with positioned reads on an open descriptor,
// so whole files never enter the JS heap. Native backends take the raw location (file, offset, length) and mmap.
import { closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import { basename, join } from 'node:path';
import { BYTES_PER_ELEMENT, bytesToFloat32, isStorageDtype, STORAGE_DTYPES } from './dtype-convert.js';
import { readJsonFile } from './model-config.js';

export const SINGLE_FILE = 'model.safetensors';
export const INDEX_FILE = 'model.safetensors.index.json';
/** a header larger than this is a corrupt length prefix, not a real header */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export interface TensorLocation {
  name: string;
  /** safetensors dtype name: BF16, F16, F32, ... */
  dtype: string;
  shape: number[];
  /** absolute path of the file holding it */
  file: string;
  /** absolute byte offset of the first element in that file */
  offset: number;
  /** byte length of the data */
  length: number;
}

export class SafetensorsFile {
  private constructor(
    readonly path: string,
    readonly fd: number,
    readonly fileSize: number,
    readonly tensors: Map<string, TensorLocation>,
    readonly metadata: Record<string, string>,
  ) {}

  static open(path: string): SafetensorsFile {
    if (!existsSync(path)) throw new Error(`safetensors file not found: ${path}`);
    const fd = openSync(path, 'r');
    try {
      const fileSize = fstatSync(fd).size;
      const { tensors, metadata } = parseHeader(fd, fileSize, path);
      return new SafetensorsFile(path, fd, fileSize, tensors, metadata);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  close(): void {
    closeSync(this.fd);
  }
}

function readExactly(fd: number, target: Uint8Array, position: number, path: string): void {
  // readSync moves at most ~2 GiB per call; loop until the range is filled.
  let done = 0;
  while (done < target.length) {
    const n = readSync(fd, target, done, Math.min(target.length - done, 1 << 30), position + done);
    if (n === 0) throw new Error(`${path}: unexpected end of file at byte ${position + done} (file is truncated)`);
    done += n;
  }
}

function parseHeader(fd: number, fileSize: number, path: string) {
  if (fileSize < 8) throw new Error(`${path}: truncated file (${fileSize} bytes, no safetensors header)`);
  const prefix = new Uint8Array(8);
  readExactly(fd, prefix, 0, path);
  const headerLen = Number(new DataView(prefix.buffer).getBigUint64(0, true));
  if (headerLen > MAX_HEADER_BYTES) throw new Error(`${path}: header length ${headerLen} is implausible (corrupt file?)`);
  if (8 + headerLen > fileSize) {
    throw new Error(`${path}: truncated file (header needs ${8 + headerLen} bytes, file has ${fileSize})`);
  }
  const headerBytes = new Uint8Array(headerLen);
  readExactly(fd, headerBytes, 8, path);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(headerBytes)) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${path}: header is not valid JSON: ${(e as Error).message}`);
  }
  const dataStart = 8 + headerLen;
  const tensors = new Map<string, TensorLocation>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = (entry ?? {}) as Record<string, string>;
      continue;
    }
    const { dtype, shape, data_offsets } = entry as { dtype: string; shape: number[]; data_offsets: [number, number] };
    if (typeof dtype !== 'string' || !Array.isArray(shape) || !Array.isArray(data_offsets) || data_offsets.length !== 2) {
      throw new Error(`${path}: malformed header entry for tensor "${name}"`);
    }
    const [begin, end] = data_offsets;
    if (end < begin) throw new Error(`${path}: tensor "${name}" has data_offsets [${begin}, ${end}] out of order`);
    if (isStorageDtype(dtype)) {
      const expected = shape.reduce((a, b) => a * b, 1) * BYTES_PER_ELEMENT[dtype];
      if (end - begin !== expected) {
        throw new Error(`${path}: tensor "${name}" (${dtype} [${shape.join(', ')}]) needs ${expected} bytes, header gives ${end - begin}`);
      }
    }
    if (dataStart + end > fileSize) {
      throw new Error(
        `${path}: truncated file: tensor "${name}" ends at byte ${dataStart + end} but the file has ${fileSize} bytes`,
      );
    }
    tensors.set(name, { name, dtype, shape: [...shape], file: path, offset: dataStart + begin, length: end - begin });
  }
  return { tensors, metadata };
}

/** A model's weights across one or more safetensors files, looked up by HF tensor name. */
export class Checkpoint {
  private readonly byName = new Map<string, { file: SafetensorsFile; loc: TensorLocation }>();

  private constructor(
    readonly dir: string,
    readonly files: SafetensorsFile[],
  ) {
    for (const file of files) for (const [name, loc] of file.tensors) this.byName.set(name, { file, loc });
  }

  static open(dir: string): Checkpoint {
    const indexPath = join(dir, INDEX_FILE);
    if (existsSync(indexPath)) return Checkpoint.openSharded(dir, indexPath);
    const single = join(dir, SINGLE_FILE);
    if (!existsSync(single)) throw new Error(`model directory ${dir} has neither ${SINGLE_FILE} nor ${INDEX_FILE}`);
    return new Checkpoint(dir, [SafetensorsFile.open(single)]);
  }

  private static openSharded(dir: string, indexPath: string): Checkpoint {
    const index = readJsonFile(indexPath) as { weight_map?: Record<string, string> };
    const weightMap = index.weight_map;
    if (!weightMap || typeof weightMap !== 'object') throw new Error(`${indexPath}: missing required field "weight_map"`);
    const shardNames = [...new Set(Object.values(weightMap))].sort();
    for (const shard of shardNames) {
      if (!existsSync(join(dir, shard))) throw new Error(`shard ${shard} listed in ${INDEX_FILE} is missing from ${dir}`);
    }
    const files: SafetensorsFile[] = [];
    try {
      for (const shard of shardNames) files.push(SafetensorsFile.open(join(dir, shard)));
    } catch (e) {
      for (const f of files) f.close();
      throw e;
    }
    const checkpoint = new Checkpoint(dir, files);
    for (const [name, shard] of Object.entries(weightMap)) {
      const found = checkpoint.byName.get(name);
      if (!found || basename(found.file.path) !== shard) {
        checkpoint.close();
        throw new Error(`${INDEX_FILE} puts tensor "${name}" in ${shard}, but that shard does not hold it`);
      }
    }
    return checkpoint;
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** where the tensor's bytes live, for backends that map files themselves */
  location(name: string): TensorLocation {
    const found = this.byName.get(name);
    if (!found) throw new Error(`tensor "${name}" is missing from the checkpoint in ${this.dir}`);
    return found.loc;
  }

  /** raw bytes of one tensor, read with a positioned read (no other tensor is touched) */
  readRaw(name: string): Uint8Array {
    const found = this.byName.get(name);
    if (!found) throw new Error(`tensor "${name}" is missing from the checkpoint in ${this.dir}`);
    // A fresh ArrayBuffer keeps the data aligned for the typed-array views of the converters.
    const bytes = new Uint8Array(new ArrayBuffer(found.loc.length));
    readExactly(found.file.fd, bytes, found.loc.offset, found.file.path);
    return bytes;
  }

  /** one tensor as float32, checking its shape when one is expected */
  readFloat32(name: string, expectedShape?: readonly number[]): Float32Array {
    const loc = this.location(name);
    if (expectedShape) checkShape(loc, expectedShape);
    if (!isStorageDtype(loc.dtype)) {
      throw new Error(`tensor "${name}" has dtype ${loc.dtype}, which is not supported (supported: ${STORAGE_DTYPES.join(', ')})`);
    }
    const count = loc.shape.reduce((a, b) => a * b, 1);
    return bytesToFloat32(loc.dtype, this.readRaw(name), count);
  }

  close(): void {
    for (const f of this.files) f.close();
  }
}

export function checkShape(loc: TensorLocation, expected: readonly number[]): void {
  const same = loc.shape.length === expected.length && loc.shape.every((d, i) => d === expected[i]);
  if (!same) {
    throw new Error(`tensor "${loc.name}" has the wrong shape: expected [${expected.join(', ')}], got [${loc.shape.join(', ')}]`);
  }
}
