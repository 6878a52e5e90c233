// RoPE settings from config.json. Older transformers write `rope_theta` and `rope_scaling` at the top level;
// transformers 5 writes one `rope_parameters` object holding both. Either names the kind as `rope_type` or `type`.
import type { RopeScaling } from './model-config-types.js';
import { ConfigFieldReader, type JsonObject } from './config-fields.js';

const SUPPORTED_ROPE_TYPES = ['default', 'llama3'];

export interface RopeSettings {
  theta: number;
  scaling: RopeScaling;
}

export function parseRopeSettings(cfg: ConfigFieldReader, source: string, defaultTheta: number): RopeSettings {
  const params = cfg.optionalObject('rope_parameters');
  // transformers 5 style wins when present; its theta may still sit at the top level in hand-edited files.
  const scalingObj = params ?? cfg.optionalObject('rope_scaling');
  const theta = (params && new ConfigFieldReader(params, `${source} rope_parameters`).optionalNumber('rope_theta')) ??
    cfg.optionalNumber('rope_theta') ??
    defaultTheta;
  return { theta, scaling: parseScaling(scalingObj, source) };
}

function parseScaling(obj: JsonObject | undefined, source: string): RopeScaling {
  if (!obj) return { type: 'default' };
  const where = `${source} rope scaling`;
  const r = new ConfigFieldReader(obj, where);
  const kind = r.optionalString('rope_type') ?? r.optionalString('type') ?? 'default';
  if (kind === 'default') return { type: 'default' };
  if (kind === 'llama3') {
    return {
      type: 'llama3',
      factor: r.requiredNumber('factor'),
      lowFreqFactor: r.requiredNumber('low_freq_factor'),
      highFreqFactor: r.requiredNumber('high_freq_factor'),
      originalMaxPositionEmbeddings: r.requiredInt('original_max_position_embeddings'),
    };
  }
  throw new Error(`${where}: rope type "${kind}" is not supported (supported: ${SUPPORTED_ROPE_TYPES.join(', ')})`);
}
