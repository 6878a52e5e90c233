// `--device auto`: CUDA when the addon sees a GPU, else the native CPU backend.
import type { DeviceKind } from '../config/engine-args.js';
import { cudaInfo } from './addon.js';

export type ResolvedDevice = Exclude<DeviceKind, 'auto'>;

/** Resolves 'auto'; explicit choices pass through. Throws (naming the build command) when the addon is not built. */
export function resolveDevice(device: DeviceKind): ResolvedDevice {
  if (device !== 'auto') return device;
  return cudaInfo().deviceCount > 0 ? 'cuda' : 'cpu';
}
