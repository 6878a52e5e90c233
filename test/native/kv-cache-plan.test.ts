import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cudaKvBytesPerBlock, describeMemorySplit, overridePlan, planKvCache } from '../../src/native/kv-cache-plan.js';

const GiB = 2 ** 30;
// Qwen2.5-7B: 28 layers, 4 KV heads of 128, block 16 → 917,504 bytes per block
const perBlock = cudaKvBytesPerBlock(28, 16, 4, 128);

test('bf16 KV bytes per block count K and V over all layers', () => {
  assert.equal(perBlock, 2 * 28 * 16 * 4 * 128 * 2);
});

test('the cache gets what gpu_memory_utilization leaves after weights and the profiled activations', () => {
  const plan = planKvCache({
    totalBytes: 80 * GiB,
    usedBytes: 16 * GiB + 1 * GiB, // weights+activations, plus the 1 GiB profiling cache
    profileCacheBytes: 1 * GiB,
    gpuMemoryUtilization: 0.9,
    bytesPerBlock: perBlock,
    blockSize: 16,
    maxModelLen: 32768,
  });
  assert.equal(plan.numBlocks, Math.floor((72 - 16) * GiB / perBlock));
  assert.equal(plan.capacityTokens, plan.numBlocks * 16);
  assert.ok(plan.maxConcurrency > 30 && plan.maxConcurrency < 40);
});

test('a max_model_len the cache cannot hold is refused with what is needed and what to change', () => {
  assert.throws(
    () =>
      planKvCache({ totalBytes: 80 * GiB, usedBytes: 70 * GiB, profileCacheBytes: 0, gpuMemoryUtilization: 0.9, bytesPerBlock: perBlock, blockSize: 16, maxModelLen: 131072 }),
    (e: Error) =>
      /max seq len \(131072\) is larger than the maximum number of tokens that can be stored in KV cache \(\d+\)/.test(e.message) &&
      /7\.00 GiB KV cache is needed/.test(e.message) &&
      /increasing `gpu_memory_utilization` or decreasing `max_model_len`/.test(e.message),
  );
});

test('no room at all for KV blocks is refused naming gpu_memory_utilization', () => {
  assert.throws(
    () => planKvCache({ totalBytes: 80 * GiB, usedBytes: 75 * GiB, profileCacheBytes: 0, gpuMemoryUtilization: 0.9, bytesPerBlock: perBlock, blockSize: 16, maxModelLen: 1024 }),
    /No available memory for the cache blocks.*increasing `gpu_memory_utilization`/,
  );
  assert.throws(() => planKvCache({ totalBytes: 1, usedBytes: 0, profileCacheBytes: 0, gpuMemoryUtilization: 1.5, bytesPerBlock: 1, blockSize: 1, maxModelLen: 1 }), /gpu_memory_utilization must be in \(0, 1\]/);
});

test('a num_kv_blocks override gives exactly that many blocks, and never more than the profile allows', () => {
  const profiled = planKvCache({
    totalBytes: 80 * GiB,
    usedBytes: 17 * GiB,
    profileCacheBytes: 1 * GiB,
    gpuMemoryUtilization: 0.9,
    bytesPerBlock: perBlock,
    blockSize: 16,
    maxModelLen: 4096,
  });
  const small = overridePlan(profiled, 160, 16, 2048);
  assert.equal(small.numBlocks, 160);
  assert.equal(small.capacityTokens, 160 * 16);
  assert.equal(small.kvCacheBytes, 160 * perBlock);
  assert.throws(() => overridePlan(profiled, profiled.numBlocks + 1, 16, 2048), /more than the GPU memory allows/);
  assert.throws(() => overridePlan(profiled, 0, 16, 2048), /positive integer/);
});

test('reserved blocks (the decode padding scratch block) come out of the usable count', () => {
  const input = { totalBytes: 80 * GiB, usedBytes: 17 * GiB, profileCacheBytes: 1 * GiB, gpuMemoryUtilization: 0.9, bytesPerBlock: perBlock, blockSize: 16, maxModelLen: 4096 };
  const plain = planKvCache(input);
  const reserved = planKvCache({ ...input, reservedBlocks: 1 });
  assert.equal(reserved.numBlocks, plain.numBlocks - 1);
  // usable + reserved blocks stay inside the budget
  assert.ok((reserved.numBlocks + 1) * perBlock <= 0.9 * 80 * GiB - 16 * GiB);
});

test('sampling and graph memory measured before sizing shrink the cache by exactly their bytes', () => {
  const base = { totalBytes: 80 * GiB, profileCacheBytes: 1 * GiB, gpuMemoryUtilization: 0.9, bytesPerBlock: perBlock, blockSize: 16, maxModelLen: 4096, reservedBlocks: 1 };
  const weightsAndActivations = 17 * GiB;
  const sampling = 0.3 * GiB;
  const graphs = 0.2 * GiB;
  const without = planKvCache({ ...base, usedBytes: weightsAndActivations });
  const withThem = planKvCache({ ...base, usedBytes: weightsAndActivations + sampling + graphs });
  const lostBlocks = without.numBlocks - withThem.numBlocks;
  assert.ok(Math.abs(lostBlocks - (sampling + graphs) / perBlock) <= 1, `${lostBlocks} blocks for 0.5 GiB`);
  const inUse = weightsAndActivations - base.profileCacheBytes + sampling + graphs + (withThem.numBlocks + 1) * perBlock;
  assert.ok(inUse <= 0.9 * 80 * GiB, 'weights + activations + sampling + graphs + KV within gpu_memory_utilization');
});

test('the memory split names every owner and what is left over', () => {
  const line = describeMemorySplit({
    weightBytes: 14.2 * GiB,
    activationBytes: 1.5 * GiB,
    samplingBytes: 0.25 * GiB,
    graphBytes: 0.05 * GiB,
    kvCacheBytes: 55 * GiB,
    usedBeforeKvBytes: 16.5 * GiB,
    totalBytes: 80 * GiB,
    gpuMemoryUtilization: 0.9,
  });
  assert.equal(
    line,
    'weights 14.20 GiB, activations peak 1.50 GiB, sampling 0.25 GiB, CUDA graphs 0.05 GiB, other 0.50 GiB, KV cache 55.00 GiB: ' +
      '71.50 GiB of the 72.00 GiB allowed by gpu_memory_utilization=0.9',
  );
});
