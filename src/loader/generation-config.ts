// generation_config.json → default sampling values and EOS ids (the model author's recommended settings).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigFieldReader, asJsonObject } from './config-fields.js';
import { readJsonFile } from './model-config.js';

export interface GenerationDefaults {
  temperature?: number;
  topP?: number;
  topK?: number;
  minP?: number;
  repetitionPenalty?: number;
  maxNewTokens?: number;
  /** empty when the file names none */
  eosTokenIds: number[];
}

/** null when the directory has no generation_config.json */
export function loadGenerationConfig(dir: string): GenerationDefaults | null {
  const path = join(dir, 'generation_config.json');
  if (!existsSync(path)) return null;
  const r = new ConfigFieldReader(asJsonObject(readJsonFile(path), path), path);
  const out: GenerationDefaults = { eosTokenIds: r.tokenIdList('eos_token_id') };
  const set = <K extends keyof GenerationDefaults>(key: K, value: GenerationDefaults[K] | undefined) => {
    if (value !== undefined) out[key] = value;
  };
  set('temperature', r.optionalNumber('temperature'));
  set('topP', r.optionalNumber('top_p'));
  set('topK', r.optionalNumber('top_k'));
  set('minP', r.optionalNumber('min_p'));
  set('repetitionPenalty', r.optionalNumber('repetition_penalty'));
  set('maxNewTokens', r.optionalInt('max_new_tokens'));
  return out;
}
