import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkServeResources, type GpuProbe } from '../../src/config/resource-check.js';

const probe = (p: GpuProbe) => () => p;
const built = null;

test('tensor parallelism needs that many CUDA GPUs and the CUDA backend; the message says what is missing', () => {
  assert.throws(
    () => checkServeResources({ tensorParallelSize: 2 }, probe({ count: 0, detail: 'nvidia-smi was not found', backendMissing: built })),
    /--tensor-parallel-size 2 needs 2 CUDA GPUs and serval's CUDA backend, but no CUDA GPU was found \(nvidia-smi was not found\)\. To run on this machine: drop --tensor-parallel-size/,
  );
  assert.throws(
    () => checkServeResources({ tensorParallelSize: 4 }, probe({ count: 2, detail: 'nvidia-smi lists 2', backendMissing: built })),
    /only 2 CUDA GPUs were found .*--tensor-parallel-size 2/,
  );
  assert.throws(
    () => checkServeResources({ tensorParallelSize: 2 }, probe({ count: 2, detail: 'nvidia-smi lists 2', backendMissing: "serval's CUDA backend is not built" })),
    /serval's CUDA backend is not built/,
  );
  assert.throws(() => checkServeResources({ device: 'cuda' }, probe({ count: 0, detail: 'x', backendMissing: built })), /--device cuda needs a CUDA GPU.*use --device cpu/);
  assert.throws(() => checkServeResources({ device: 'cpu', tensorParallelSize: 2 }, probe({ count: 8, detail: 'x', backendMissing: built })), /runs on the CPU/);
});

test('single-device runs and satisfied requests pass without probing more than needed', () => {
  let probed = 0;
  const p = () => {
    probed++;
    return { count: 2, detail: 'nvidia-smi lists 2', backendMissing: null };
  };
  checkServeResources({ tensorParallelSize: 1, device: 'auto' }, p);
  assert.equal(probed, 0);
  checkServeResources({ tensorParallelSize: 2 }, p);
  assert.equal(probed, 1);
});
