// Flag parsing shared by `bench serve` and `bench throughput` (vLLM's names and defaults).
import { InvalidArgumentError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { DATASET_NAMES, type DatasetName, type DatasetOptions } from './datasets/load-dataset.js';
import { METRIC_NAMES, type GoodputSlos, type MetricName } from './metrics.js';

export function positiveInt(raw: string): number {
  const v = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || v < 1) throw new InvalidArgumentError('Expected a whole number >= 1.');
  return v;
}

export function nonNegativeInt(raw: string): number {
  if (!/^\d+$/.test(raw.trim())) throw new InvalidArgumentError('Expected a whole number >= 0.');
  return Number(raw);
}

export function ratio(raw: string): number {
  const v = Number(raw);
  if (raw.trim() === '' || !(v >= 0 && v < 1)) throw new InvalidArgumentError('Expected a number in [0, 1).');
  return v;
}

/** "inf" or a positive number of requests per second */
export function requestRate(raw: string): number {
  if (raw.trim().toLowerCase() === 'inf') return Infinity;
  const v = Number(raw);
  if (raw.trim() === '' || !(v > 0)) throw new InvalidArgumentError('Expected "inf" or a number > 0.');
  return v;
}

export function positiveNumber(raw: string): number {
  if (raw.trim().toLowerCase() === 'inf') return Infinity;
  const v = Number(raw);
  if (raw.trim() === '' || !(v > 0)) throw new InvalidArgumentError('Expected a number > 0.');
  return v;
}

export function metricList(raw: string): MetricName[] {
  const names = raw.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const n of names) if (!(METRIC_NAMES as readonly string[]).includes(n)) throw new InvalidArgumentError(`Unknown metric '${n}'; choose from ${METRIC_NAMES.join(',')}.`);
  return names as MetricName[];
}

export function percentileList(raw: string): number[] {
  const vs = raw.split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
  if (vs.length === 0 || vs.some((v) => !(v >= 0 && v <= 100))) throw new InvalidArgumentError('Expected comma-separated percentiles in [0, 100], e.g. 25,50,99.');
  return vs;
}

/** repeatable `--goodput ttft:500 tpot:50` (milliseconds, vLLM's KEY:VALUE form) */
export function goodputPair(raw: string, previous: GoodputSlos | undefined): GoodputSlos {
  const m = /^(ttft|tpot|e2el):(\d+(?:\.\d+)?)$/.exec(raw.trim());
  if (!m) throw new InvalidArgumentError('Expected KEY:VALUE with KEY one of ttft, tpot, e2el and VALUE in milliseconds >= 0, e.g. ttft:500.');
  return { ...previous, [m[1]!]: Number(m[2]) };
}

/** a JSON schema file for --guided-json */
export function readSchemaFile(path: string): object {
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`--guided-json ${path}: ${(e as Error).message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`--guided-json ${path}: expected a JSON object (a JSON schema)`);
  return v;
}

/** the dataset options; `--dataset FILE.jsonl` is shorthand for `--dataset jsonl --dataset-path FILE.jsonl` */
export function datasetOptions(flags: DatasetFlags): DatasetOptions {
  let dataset = flags.dataset;
  let datasetPath = flags.datasetPath;
  if (!(DATASET_NAMES as readonly string[]).includes(dataset)) {
    if (!dataset.endsWith('.jsonl')) throw new Error(`--dataset must be one of ${DATASET_NAMES.join(', ')} or a .jsonl file, got '${dataset}'`);
    datasetPath = dataset;
    dataset = 'jsonl';
  }
  const out: DatasetOptions = {
    dataset: dataset as DatasetName,
    numPrompts: flags.numPrompts,
    randomInputLen: flags.randomInputLen,
    randomOutputLen: flags.randomOutputLen,
    randomPrefixLen: flags.randomPrefixLen,
    randomRangeRatio: flags.randomRangeRatio,
    outputLen: flags.outputLen,
  };
  if (datasetPath !== undefined) out.datasetPath = datasetPath;
  return out;
}

/** the dataset flags as commander parses them: DatasetOptions with the dataset name unchecked, plus the seed */
export type DatasetFlags = Omit<DatasetOptions, 'dataset'> & { dataset: string; seed: number };

export function datasetFlagOptions(defaultNumPrompts: number): Option[] {
  return [
    new Option('--dataset <name>', `workload: ${DATASET_NAMES.join(', ')} (cpe = vulnerability reports → {cpe: string[]}), or a .jsonl file`).default('random'),
    new Option('--dataset-name <name>', 'vLLM spelling of --dataset').hideHelp(),
    new Option('--dataset-path <file>', 'the .jsonl file of --dataset jsonl ({"prompt": ..., "output_tokens"?: N} per line)'),
    new Option('--num-prompts <n>', 'number of requests').argParser(positiveInt).default(defaultNumPrompts),
    new Option('--random-input-len <n>', 'random dataset: input tokens per request (after the prefix)').argParser(positiveInt).default(1024),
    new Option('--random-output-len <n>', 'random dataset: output tokens per request').argParser(positiveInt).default(128),
    new Option('--random-prefix-len <n>', 'random dataset: tokens of a prefix shared by all requests').argParser(nonNegativeInt).default(0),
    new Option('--random-range-ratio <r>', 'random dataset: lengths drawn from [len*(1-r), len*(1+r)]').argParser(ratio).default(0),
    new Option('--output-len <n>', 'output tokens for cpe and for jsonl lines without output_tokens').argParser(positiveInt).default(256),
    new Option('--seed <n>', 'random seed of prompts and arrivals').argParser(nonNegativeInt).default(0),
  ];
}
