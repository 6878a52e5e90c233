// vLLM's `random` dataset: prompts of exact token lengths made of token-id runs, an optional shared random prefix,
// and input/output lengths drawn uniformly from [len*(1-r), len*(1+r)] (r = --random-range-ratio).
import type { BenchTokenizer } from '../bench-tokenizer.js';
import type { SeededRandom } from '../rng.js';
import type { SampleRequest } from './sample-request.js';

export interface RandomDatasetOptions {
  numPrompts: number;
  inputLen: number;
  outputLen: number;
  prefixLen: number;
  rangeRatio: number;
}

const MAX_LENGTH_FIXES = 10;

export function sampleRandomDataset(opts: RandomDatasetOptions, tok: BenchTokenizer, rng: SeededRandom): SampleRequest[] {
  const { numPrompts, inputLen, outputLen, prefixLen, rangeRatio } = opts;
  if (!(rangeRatio >= 0 && rangeRatio < 1)) throw new RangeError(`--random-range-ratio must be in [0, 1), got ${rangeRatio}`);
  if (!(inputLen >= 1)) throw new RangeError(`--random-input-len must be >= 1, got ${inputLen}`);
  if (!(outputLen >= 1)) throw new RangeError(`--random-output-len must be >= 1, got ${outputLen}`);
  if (!(prefixLen >= 0)) throw new RangeError(`--random-prefix-len must be >= 0, got ${prefixLen}`);
  const allowed = tok.allowedIds;
  const vocab = allowed.length;
  const inLow = Math.floor(inputLen * (1 - rangeRatio));
  const inHigh = Math.ceil(inputLen * (1 + rangeRatio));
  const outLow = Math.max(1, Math.floor(outputLen * (1 - rangeRatio)));
  const outHigh = Math.ceil(outputLen * (1 + rangeRatio));
  const prefix = Array.from({ length: prefixLen }, () => allowed[rng.int(0, vocab)]!);
  const requests: SampleRequest[] = [];
  for (let i = 0; i < numPrompts; i++) {
    const len = rng.int(inLow, inHigh + 1);
    const out = rng.int(outLow, outHigh + 1);
    const offset = rng.int(0, vocab);
    const ids = [...prefix];
    for (let k = 0; k < len; k++) ids.push(allowed[(offset + i + k) % vocab]!);
    const { prompt, tokens } = decodeToLength(ids, prefixLen + len, tok, rng);
    requests.push({ prompt, promptLen: tokens, expectedOutputLen: out });
  }
  return requests;
}

/**
 * Decoding then re-encoding may merge or split tokens; trim or extend with random ids until the prompt re-encodes to
 * the target length (vLLM does the same, a few rounds at most).
 */
function decodeToLength(ids: number[], target: number, tok: BenchTokenizer, rng: SeededRandom): { prompt: string; tokens: number } {
  let current = ids;
  let prompt = tok.decode(current);
  let encoded = tok.encode(prompt);
  for (let round = 0; round < MAX_LENGTH_FIXES && encoded.length !== target; round++) {
    if (encoded.length > target) current = encoded.slice(0, target);
    else {
      current = [...encoded];
      while (current.length < target) current.push(tok.allowedIds[rng.int(0, tok.allowedIds.length)]!);
    }
    prompt = tok.decode(current);
    encoded = tok.encode(prompt);
  }
  return { prompt, tokens: encoded.length };
}
