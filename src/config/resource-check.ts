// Fails fast, before any model is loaded, when the flags ask for hardware this machine does not have — with a
// message that says exactly what is missing.
import { spawnSync } from 'node:child_process';
import type { EngineArgs } from './engine-args.js';
import { addonPath, loadNativeAddon, nativeAddonBuilt } from '../native/addon.js';

export interface GpuProbe {
  /** CUDA GPUs visible to this process */
  count: number;
  /** how the count was found, for the error message */
  detail: string;
  /** null when serval's CUDA backend is built, else why it cannot run */
  backendMissing: string | null;
}

export class MissingResourceError extends Error {}

/** why serval's CUDA backend cannot run here, or null when the addon was built with CUDA */
export function cudaBackendMissing(): string | null {
  if (!nativeAddonBuilt()) return `serval's CUDA backend is not built (${addonPath()} is missing; \`node scripts/build-native.mjs\` builds it where nvcc is installed)`;
  try {
    if (!loadNativeAddon().CudaModel) return "serval's native addon was built without CUDA (nvcc was not found when it was built)";
  } catch (e) {
    return `serval's native addon does not load: ${(e as Error).message}`;
  }
  return null;
}

/** Counts NVIDIA GPUs with `nvidia-smi -L`, narrowed by CUDA_VISIBLE_DEVICES as CUDA would. */
export function probeCudaGpus(env: NodeJS.ProcessEnv = process.env): GpuProbe {
  return { ...countNvidiaGpus(env), backendMissing: cudaBackendMissing() };
}

function countNvidiaGpus(env: NodeJS.ProcessEnv): Omit<GpuProbe, 'backendMissing'> {
  const r = spawnSync('nvidia-smi', ['-L'], { encoding: 'utf8', timeout: 10_000 });
  if (r.error) return { count: 0, detail: 'nvidia-smi was not found, so no NVIDIA driver is installed' };
  if (r.status !== 0) return { count: 0, detail: `nvidia-smi failed: ${(r.stderr || r.stdout).trim().split('\n')[0]}` };
  let count = r.stdout.split('\n').filter((l) => /^GPU \d+:/.test(l)).length;
  const visible = env.CUDA_VISIBLE_DEVICES;
  if (visible !== undefined) {
    const listed = visible.trim() === '' ? 0 : visible.split(',').filter((x) => x.trim() !== '' && !x.trim().startsWith('-')).length;
    count = Math.min(count, listed);
    return { count, detail: `nvidia-smi lists GPUs, CUDA_VISIBLE_DEVICES=${JSON.stringify(visible)} leaves ${count}` };
  }
  return { count, detail: `nvidia-smi lists ${count}` };
}

/** Throws MissingResourceError when tensor parallelism or --device cuda cannot be satisfied. */
export function checkServeResources(args: Partial<EngineArgs>, probe: () => GpuProbe = probeCudaGpus): void {
  const tp = args.tensorParallelSize ?? 1;
  const wantsCuda = tp > 1 || args.device === 'cuda';
  if (!wantsCuda) return;
  const gpus = probe();
  if (tp > 1 && (args.device === 'cpu' || args.device === 'ts')) {
    throw new MissingResourceError(
      `--tensor-parallel-size ${tp} splits the model over ${tp} CUDA GPUs, but --device ${args.device} runs on the CPU; ` +
        'use --tensor-parallel-size 1 with the CPU backends',
    );
  }
  const need = Math.max(tp, 1);
  const missing: string[] = [];
  if (gpus.count < need) {
    missing.push(`${gpus.count === 0 ? 'no CUDA GPU was found' : `only ${gpus.count} CUDA GPU${gpus.count === 1 ? ' was' : 's were'} found`} (${gpus.detail})`);
  }
  if (gpus.backendMissing) missing.push(gpus.backendMissing);
  if (missing.length > 0) {
    const why = tp > 1 ? `--tensor-parallel-size ${tp} needs ${tp} CUDA GPUs and serval's CUDA backend` : '--device cuda needs a CUDA GPU and serval\'s CUDA backend';
    const fixes: string[] = [];
    if (tp > 1) fixes.push(gpus.count > 1 ? `--tensor-parallel-size ${gpus.count}` : 'drop --tensor-parallel-size (or set it to 1)');
    if (args.device === 'cuda' && gpus.count === 0) fixes.push('use --device cpu');
    throw new MissingResourceError(`${why}, but ${missing.join('; and ')}. To run on this machine: ${fixes.join(' and ')}.`);
  }
}
