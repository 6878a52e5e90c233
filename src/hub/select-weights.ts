// Which safetensors files are the model's weights. Repositories such as Mistral's carry the same weights twice
// (consolidated.safetensors in Mistral's format beside the transformers shards); fetching both doubles the
// download, so when the index names its shards only those are taken, and without an index model.safetensors wins.
export interface RepoFile {
  path: string;
  size: number;
  etag: string;
}

export const INDEX_FILE = 'model.safetensors.index.json';

export function isWeightFile(path: string): boolean {
  return path.endsWith('.safetensors');
}

/** @param index the parsed model.safetensors.index.json, or null when the repository has none */
export function selectWeightFiles(weights: RepoFile[], index: { weight_map?: Record<string, string> } | null): RepoFile[] {
  if (index) {
    const shards = new Set(Object.values(index.weight_map ?? {}));
    const chosen = weights.filter((f) => shards.has(f.path));
    const missing = [...shards].filter((s) => !weights.some((f) => f.path === s));
    if (missing.length > 0) throw new Error(`${INDEX_FILE} names shards the repository does not have: ${missing.join(', ')}`);
    return chosen;
  }
  const single = weights.find((f) => f.path === 'model.safetensors');
  return single ? [single] : weights;
}
