// Picks the dataset named by --dataset and samples the benchmark requests from it.
import type { BenchTokenizer } from '../bench-tokenizer.js';
import type { SeededRandom } from '../rng.js';
import { CPE_SCHEMA, sampleCpeDataset } from './cpe-dataset.js';
import { loadJsonlDataset } from './jsonl-dataset.js';
import { sampleRandomDataset } from './random-dataset.js';
import type { SampleRequest } from './sample-request.js';

export const DATASET_NAMES = ['random', 'jsonl', 'cpe'] as const;
export type DatasetName = (typeof DATASET_NAMES)[number];

export interface DatasetOptions {
  dataset: DatasetName;
  datasetPath?: string;
  numPrompts: number;
  randomInputLen: number;
  randomOutputLen: number;
  randomPrefixLen: number;
  randomRangeRatio: number;
  /** output length for jsonl lines without output_tokens and for cpe */
  outputLen: number;
}

export function sampleDataset(opts: DatasetOptions, tok: BenchTokenizer, rng: SeededRandom): SampleRequest[] {
  if (!(Number.isInteger(opts.numPrompts) && opts.numPrompts >= 1)) throw new RangeError(`--num-prompts must be a positive integer, got ${opts.numPrompts}`);
  switch (opts.dataset) {
    case 'random':
      return sampleRandomDataset(
        { numPrompts: opts.numPrompts, inputLen: opts.randomInputLen, outputLen: opts.randomOutputLen, prefixLen: opts.randomPrefixLen, rangeRatio: opts.randomRangeRatio },
        tok,
        rng,
      );
    case 'jsonl':
      if (!opts.datasetPath) throw new Error('--dataset jsonl needs --dataset-path FILE');
      return loadJsonlDataset(opts.datasetPath, opts.numPrompts, opts.outputLen, tok);
    case 'cpe':
      return sampleCpeDataset({ numPrompts: opts.numPrompts, outputLen: opts.outputLen }, tok, rng);
    default:
      throw new Error(`unknown --dataset ${String(opts.dataset)} (expected one of ${DATASET_NAMES.join(', ')})`);
  }
}

/** the JSON schema a dataset constrains its answers to, if any (cpe's {cpe: string[]}) */
export function datasetSchema(dataset: DatasetName): object | null {
  return dataset === 'cpe' ? CPE_SCHEMA : null;
}
