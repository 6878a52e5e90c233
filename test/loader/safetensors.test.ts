import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { bytesToFloat32, float32ToBytes, floatToBf16Bits, floatToF16Bits, f16BitsToFloat } from '../../src/loader/dtype-convert.js';
import { Checkpoint, SafetensorsFile } from '../../src/loader/safetensors.js';
import { writeSafetensors } from '../../src/loader/safetensors-writer.js';

const root = mkdtempSync(join(tmpdir(), 'serval-st-'));
after(() => rmSync(root, { recursive: true, force: true }));

function folder(name: string): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

// Values exactly representable in bf16 and f16, so every dtype must return them unchanged.
const exact = Float32Array.from([0, 1, -2, 0.5, 1.5, -0.375, 3, 1024, -0.0078125, 6]);

function writeAllDtypes(path: string): void {
  writeSafetensors(path, [
    { name: 'a.bf16', dtype: 'BF16', shape: [2, 5], bytes: () => float32ToBytes('BF16', exact) },
    { name: 'a.f16', dtype: 'F16', shape: [10], bytes: () => float32ToBytes('F16', exact) },
    { name: 'a.f32', dtype: 'F32', shape: [5, 2], bytes: () => float32ToBytes('F32', exact) },
  ]);
}

test('bf16, f16 and f32 tensors read back as float32', () => {
  const dir = folder('dtypes');
  writeAllDtypes(join(dir, 'model.safetensors'));
  const ckpt = Checkpoint.open(dir);
  try {
    for (const name of ['a.bf16', 'a.f16', 'a.f32']) assert.deepEqual(ckpt.readFloat32(name), exact, name);
    assert.deepEqual(ckpt.location('a.f16').shape, [10]);
    assert.equal(ckpt.location('a.f16').dtype, 'F16');
  } finally {
    ckpt.close();
  }
});

test('raw location points at the tensor bytes in the file (for native mmap)', () => {
  const dir = folder('raw');
  writeAllDtypes(join(dir, 'model.safetensors'));
  const ckpt = Checkpoint.open(dir);
  try {
    const loc = ckpt.location('a.f32');
    const file = readFileSync(loc.file);
    const fromFile = new Float32Array(file.buffer.slice(file.byteOffset + loc.offset, file.byteOffset + loc.offset + loc.length));
    assert.deepEqual(fromFile, exact);
    assert.deepEqual(ckpt.readRaw('a.bf16'), float32ToBytes('BF16', exact));
  } finally {
    ckpt.close();
  }
});

test('conversions round to nearest even and handle specials', () => {
  // 1 + 2^-8 is halfway between two bf16 values: ties go to the even mantissa (1.0).
  assert.equal(floatToBf16Bits(1 + 2 ** -8), 0x3f80);
  assert.equal(floatToBf16Bits(1 + 3 * 2 ** -8), 0x3f82);
  assert.equal(f16BitsToFloat(floatToF16Bits(65504)), 65504);
  assert.equal(f16BitsToFloat(floatToF16Bits(1e6)), Infinity);
  assert.equal(f16BitsToFloat(floatToF16Bits(2 ** -24)), 2 ** -24); // smallest subnormal
  assert.equal(f16BitsToFloat(floatToF16Bits(1 + 2 ** -11)), 1); // tie to even
  assert.ok(Number.isNaN(bytesToFloat32('BF16', float32ToBytes('BF16', Float32Array.of(NaN)), 1)[0]!));
  const bf = bytesToFloat32('BF16', float32ToBytes('BF16', Float32Array.of(Math.PI)), 1)[0]!;
  assert.ok(Math.abs(bf - Math.PI) < 2 ** -7 * Math.PI && bf !== Math.fround(Math.PI));
});

test('every finite f16 and bf16 value survives float32 and back', () => {
  for (let h = 0; h < 65536; h++) {
    const exp = (h >> 10) & 0x1f;
    if (exp !== 0x1f) assert.equal(floatToF16Bits(f16BitsToFloat(h)), h, `f16 0x${h.toString(16)}`);
  }
  const halves = new Uint16Array(65536).map((_, i) => i);
  const viaTable = bytesToFloat32('F16', new Uint8Array(halves.buffer), 65536);
  for (let h = 0; h < 65536; h++) assert.ok(Object.is(viaTable[h], Math.fround(f16BitsToFloat(h))) || Number.isNaN(viaTable[h]!));
  const bf = bytesToFloat32('BF16', new Uint8Array(halves.buffer), 65536);
  for (let h = 0; h < 65536; h++) if (!Number.isNaN(bf[h]!)) assert.equal(floatToBf16Bits(bf[h]!), h, `bf16 0x${h.toString(16)}`);
});

test('sharded and single-file checkpoints give identical tensors', () => {
  const single = folder('single');
  const sharded = folder('sharded');
  const values = (seed: number) => Float32Array.from({ length: 12 }, (_, i) => (i * seed) % 7 - 3);
  const tensors = [1, 2, 3].map((s) => ({ name: `w${s}`, dtype: 'BF16' as const, shape: [3, 4], bytes: () => float32ToBytes('BF16', values(s)) }));
  writeSafetensors(join(single, 'model.safetensors'), tensors);
  writeSafetensors(join(sharded, 'model-00001-of-00002.safetensors'), tensors.slice(0, 2));
  writeSafetensors(join(sharded, 'model-00002-of-00002.safetensors'), tensors.slice(2));
  writeFileSync(
    join(sharded, 'model.safetensors.index.json'),
    JSON.stringify({ metadata: {}, weight_map: { w1: 'model-00001-of-00002.safetensors', w2: 'model-00001-of-00002.safetensors', w3: 'model-00002-of-00002.safetensors' } }),
  );
  const a = Checkpoint.open(single);
  const b = Checkpoint.open(sharded);
  try {
    assert.deepEqual(b.names().sort(), a.names().sort());
    for (const n of a.names()) assert.deepEqual(b.readFloat32(n), a.readFloat32(n), n);
    assert.match(b.location('w3').file, /model-00002-of-00002\.safetensors$/);
  } finally {
    a.close();
    b.close();
  }
});

test('error: no weights file in the directory', () => {
  assert.throws(() => Checkpoint.open(folder('nothing')), /has neither model\.safetensors nor model\.safetensors\.index\.json/);
  assert.throws(() => SafetensorsFile.open(join(root, 'nope.safetensors')), /safetensors file not found/);
});

test('error: missing tensor is named', () => {
  const dir = folder('missing-tensor');
  writeAllDtypes(join(dir, 'model.safetensors'));
  const ckpt = Checkpoint.open(dir);
  try {
    assert.throws(() => ckpt.readFloat32('model.norm.weight'), /tensor "model\.norm\.weight" is missing from the checkpoint/);
  } finally {
    ckpt.close();
  }
});

test('error: wrong shape names expected and actual', () => {
  const dir = folder('wrong-shape');
  writeAllDtypes(join(dir, 'model.safetensors'));
  const ckpt = Checkpoint.open(dir);
  try {
    assert.throws(() => ckpt.readFloat32('a.bf16', [5, 2]), /tensor "a\.bf16" has the wrong shape: expected \[5, 2\], got \[2, 5\]/);
  } finally {
    ckpt.close();
  }
});

test('error: truncated file (data past the end)', () => {
  const dir = folder('truncated');
  const path = join(dir, 'model.safetensors');
  writeAllDtypes(path);
  const size = readFileSync(path).length;
  truncateSync(path, size - 3);
  assert.throws(() => Checkpoint.open(dir), /truncated file: tensor "a\.f32" ends at byte \d+ but the file has \d+ bytes/);
  truncateSync(path, 20);
  assert.throws(() => Checkpoint.open(dir), /truncated file \(header needs \d+ bytes, file has 20\)/);
  truncateSync(path, 4);
  assert.throws(() => Checkpoint.open(dir), /truncated file \(4 bytes/);
});

test('error: shard listed in the index is missing', () => {
  const dir = folder('missing-shard');
  writeAllDtypes(join(dir, 'model-00001-of-00002.safetensors'));
  writeFileSync(
    join(dir, 'model.safetensors.index.json'),
    JSON.stringify({ weight_map: { 'a.bf16': 'model-00001-of-00002.safetensors', extra: 'model-00002-of-00002.safetensors' } }),
  );
  assert.throws(() => Checkpoint.open(dir), /shard model-00002-of-00002\.safetensors listed in model\.safetensors\.index\.json is missing/);
  unlinkSync(join(dir, 'model.safetensors.index.json'));
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { ghost: 'model-00001-of-00002.safetensors' } }));
  assert.throws(() => Checkpoint.open(dir), /puts tensor "ghost" in model-00001-of-00002\.safetensors, but that shard does not hold it/);
});

test('error: unsupported dtype is named (raw access still works)', () => {
  const dir = folder('int8');
  // Hand-written header: one I8 tensor of 4 bytes.
  const header = Buffer.from(JSON.stringify({ q: { dtype: 'I8', shape: [4], data_offsets: [0, 4] } }));
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(header.length));
  writeFileSync(join(dir, 'model.safetensors'), Buffer.concat([prefix, header, Buffer.from([1, 2, 3, 4])]));
  const ckpt = Checkpoint.open(dir);
  try {
    assert.throws(() => ckpt.readFloat32('q'), /tensor "q" has dtype I8, which is not supported \(supported: BF16, F16, F32\)/);
    assert.deepEqual([...ckpt.readRaw('q')], [1, 2, 3, 4]);
  } finally {
    ckpt.close();
  }
});

test('error: header whose byte count disagrees with dtype and shape', () => {
  const dir = folder('bad-header');
  const header = Buffer.from(JSON.stringify({ w: { dtype: 'F32', shape: [4], data_offsets: [0, 8] } }));
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(header.length));
  writeFileSync(join(dir, 'model.safetensors'), Buffer.concat([prefix, header, Buffer.alloc(8)]));
  assert.throws(() => Checkpoint.open(dir), /needs 16 bytes, header gives 8/);
});
