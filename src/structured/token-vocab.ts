// A model's vocabulary as bytes: for every id below the model's vocab size, the exact bytes the token decodes to
// (null for special tokens and for embedding-padding ids beyond the tokenizer, which never match text).
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { byteLevelCharToByte, byteLevelTokenBytes } from '../tokenizer/byte-level-alphabet.js';

export interface TokenVocab {
  /** the model's vocab size (logits width); the bitmask has ceil(size / 32) words */
  readonly size: number;
  /** bytes per id; null = never matches text (special token or padding id) */
  readonly tokenBytes: ReadonlyArray<Uint8Array | null>;
  readonly eosIds: readonly number[];
}

interface TokenizerJson {
  model: { type?: string; vocab: Record<string, number> | Array<[string, number]>; byte_fallback?: boolean };
  added_tokens?: Array<{ id: number; content: string; special: boolean }>;
  decoder?: { type: string; decoders?: Array<{ type: string }> } | null;
  pre_tokenizer?: unknown;
}

function isByteLevel(t: TokenizerJson): boolean {
  const d = t.decoder;
  if (!d) return false;
  if (d.type === 'ByteLevel') return true;
  return d.type === 'Sequence' && (d.decoders ?? []).some((x) => x.type === 'ByteLevel');
}

/** token strings → bytes, from a parsed tokenizer.json */
export function vocabFromTokenizerJson(t: TokenizerJson, opts: { size?: number; eosIds?: number[] } = {}): TokenVocab {
  const entries: Array<[string, number]> = Array.isArray(t.model.vocab) ? t.model.vocab.map(([s], i) => [s, i]) : Object.entries(t.model.vocab);
  let maxId = -1;
  for (const [, id] of entries) maxId = Math.max(maxId, id);
  for (const a of t.added_tokens ?? []) maxId = Math.max(maxId, a.id);
  const size = opts.size ?? maxId + 1;
  const bytes: Array<Uint8Array | null> = new Array(size).fill(null);
  const enc = new TextEncoder();
  const byteLevel = isByteLevel(t);
  const b2 = byteLevel ? byteLevelCharToByte() : null;
  for (const [s, id] of entries) {
    if (id >= size) continue;
    if (b2) {
      bytes[id] = byteLevelTokenBytes(s, b2);
    } else {
      // SentencePiece style: ▁ is a space, <0xAB> is a raw byte (byte fallback)
      const m = /^<0x([0-9A-Fa-f]{2})>$/.exec(s);
      bytes[id] = m ? Uint8Array.of(parseInt(m[1]!, 16)) : enc.encode(s.replace(/\u2581/g, ' '));
    }
  }
  for (const a of t.added_tokens ?? []) {
    if (a.id >= size) continue;
    bytes[a.id] = a.special ? null : enc.encode(a.content);
  }
  return { size, tokenBytes: bytes, eosIds: (opts.eosIds ?? []).filter((id) => id < size) };
}

function readJson(path: string): Record<string, unknown> | null {
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>) : null;
}

/** load a model folder's vocabulary; eos ids from tokenizer_config.json, generation_config.json and config.json */
export function loadTokenVocab(modelDir: string, opts: { size?: number } = {}): TokenVocab {
  const tokPath = join(modelDir, 'tokenizer.json');
  if (!existsSync(tokPath)) throw new Error(`structured output: ${tokPath} not found (a tokenizer.json is required)`);
  const t = JSON.parse(readFileSync(tokPath, 'utf8')) as TokenizerJson;
  const config = readJson(join(modelDir, 'config.json'));
  const gen = readJson(join(modelDir, 'generation_config.json'));
  const tokCfg = readJson(join(modelDir, 'tokenizer_config.json'));
  const eos = new Set<number>();
  const addIds = (v: unknown) => {
    if (typeof v === 'number') eos.add(v);
    else if (Array.isArray(v)) v.forEach(addIds);
  };
  addIds(config?.eos_token_id);
  addIds((config?.text_config as Record<string, unknown> | undefined)?.eos_token_id);
  addIds(gen?.eos_token_id);
  const eosTok = tokCfg?.eos_token;
  const eosName = typeof eosTok === 'string' ? eosTok : (eosTok as { content?: string } | undefined)?.content;
  if (eosName) {
    const vocab = t.model.vocab as Record<string, number>;
    const id = (t.added_tokens ?? []).find((a) => a.content === eosName)?.id ?? (Array.isArray(vocab) ? undefined : vocab[eosName]);
    if (id !== undefined) eos.add(id);
  }
  const cfgSize = (config?.vocab_size ?? (config?.text_config as Record<string, unknown> | undefined)?.vocab_size) as number | undefined;
  return vocabFromTokenizerJson(t, { size: opts.size ?? cfgSize, eosIds: [...eos] });
}
