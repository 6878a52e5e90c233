// --kv-cache-dtype (vLLM's flag): the type the paged K/V cache stores. 'auto' is the model's dtype, except that
// bfloat16 weights get a float16 cache on CUDA: the same bytes per value with 3 more mantissa bits (issue 6: the bf16
// K/V rounding alone kept two test models past the greedy-run accuracy bound); 'bfloat16' asks for vLLM's bf16 cache.
// fp8 caches are not implemented.
export const KV_CACHE_DTYPES = ['auto', 'bfloat16', 'float16'] as const;
export type KvCacheDtypeArg = (typeof KV_CACHE_DTYPES)[number];

/** the value as a supported K/V cache dtype, or an error naming it and the supported ones */
export function checkKvCacheDtype(value: string): KvCacheDtypeArg {
  if ((KV_CACHE_DTYPES as readonly string[]).includes(value)) return value as KvCacheDtypeArg;
  throw new Error(`--kv-cache-dtype ${JSON.stringify(value)} is not supported by serval (supported: ${KV_CACHE_DTYPES.join(', ')}; fp8 K/V caches are not implemented)`);
}

/** The host backends (cpu, ts) keep their K/V cache in fp32, as they compute: a narrower cache there would be a
 *  different model of the GPU's rounding, not the flag's meaning, so anything but 'auto' is refused by name. */
export function checkHostKvCacheDtype(device: 'cpu' | 'ts', value: string): void {
  const kv = checkKvCacheDtype(value);
  if (kv !== 'auto') throw new Error(`--kv-cache-dtype ${kv} is not supported by the ${device} backend (its K/V cache is fp32; use auto, or --device cuda)`);
}
