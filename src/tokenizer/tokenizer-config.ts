// Reads tokenizer_config.json: special-token strings (plain strings or AddedToken objects {content, ...}).
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

export type TokenizerConfig = Record<string, unknown>;

/** Special-token names transformers exposes to chat templates (its `special_tokens_map`). */
export const SPECIAL_TOKEN_KEYS = [
  'bos_token',
  'eos_token',
  'unk_token',
  'sep_token',
  'pad_token',
  'cls_token',
  'mask_token',
] as const;
export type SpecialTokenKey = (typeof SPECIAL_TOKEN_KEYS)[number];

export function readTokenizerConfig(dir: string): TokenizerConfig {
  const path = join(dir, 'tokenizer_config.json');
  if (!existsSync(path)) return {};
  try {
    const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new Error('top level is not a JSON object');
    }
    return parsed as TokenizerConfig;
  } catch (err) {
    throw new Error(`cannot read ${path}: ${(err as Error).message}`);
  }
}

/** The text of a special-token entry: `"<|im_end|>"` or `{"content": "<|im_end|>", ...}`; null when unset. */
export function specialTokenText(config: TokenizerConfig, key: string): string | null {
  const value = config[key];
  if (value === undefined || value === null) return null;
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && typeof (value as { content?: unknown }).content === 'string') {
    return (value as { content: string }).content;
  }
  throw new Error(`tokenizer_config.json: ${key} must be a string or an object with "content"`);
}

/** The special tokens that are set, by name (what transformers passes into chat templates). */
export function specialTokensMap(config: TokenizerConfig): Partial<Record<SpecialTokenKey, string>> & {
  additional_special_tokens?: string[];
} {
  const out: Partial<Record<SpecialTokenKey, string>> & { additional_special_tokens?: string[] } = {};
  for (const key of SPECIAL_TOKEN_KEYS) {
    const text = specialTokenText(config, key);
    if (text !== null) out[key] = text;
  }
  const extra = config.additional_special_tokens;
  if (Array.isArray(extra) && extra.length > 0) {
    out.additional_special_tokens = extra.map((t, i) => {
      const text = specialTokenText({ t }, 't');
      if (text === null) throw new Error(`tokenizer_config.json: additional_special_tokens[${i}] is null`);
      return text;
    });
  }
  return out;
}
