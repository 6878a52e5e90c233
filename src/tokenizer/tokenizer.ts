// serval's tokenizer: tokenizer.json through @huggingface/tokenizers, special tokens from tokenizer_config.json.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import type { DecodeOptions, TextTokenizer } from './types.js';
import { readTokenizerConfig, specialTokenText, type TokenizerConfig } from './tokenizer-config.js';
import { planByteLevelDecoding, type ByteLevelTable } from './byte-level-table.js';

export class Tokenizer implements TextTokenizer {
  readonly size: number;
  readonly eosTokenId: number | null;
  readonly bosTokenId: number | null;
  readonly padTokenId: number | null;
  /** ids of added tokens marked `special` in tokenizer.json (what `skip_special_tokens` drops) */
  private readonly specialIds: ReadonlySet<number>;
  private readonly addedIds: ReadonlySet<number>;
  private readonly cleanUpSpaces: boolean;

  constructor(
    private readonly hf: HfTokenizer,
    readonly config: TokenizerConfig,
    /** the folder it was loaded from (worker threads load their copy from there: encode-pool.ts) */
    readonly sourceDir: string,
    /** from planByteLevelDecoding(tokenizer.json, config); null keeps the general detokenizer */
    readonly byteLevelTable: ByteLevelTable | null = null,
  ) {
    const added = hf.get_added_tokens_decoder();
    this.specialIds = new Set([...added].filter(([, t]) => t.special).map(([id]) => id));
    this.addedIds = new Set(added.keys());
    let maxId = -1;
    for (const id of hf.get_vocab(true).values()) if (id > maxId) maxId = id;
    this.size = maxId + 1;
    const idOf = (key: string): number | null => {
      const text = specialTokenText(config, key);
      if (text === null) return null;
      const id = hf.token_to_id(text);
      if (id === undefined) throw new Error(`${sourceDir}: ${key} ${JSON.stringify(text)} is not in the vocabulary`);
      return id;
    };
    this.eosTokenId = idOf('eos_token');
    this.bosTokenId = idOf('bos_token');
    this.padTokenId = idOf('pad_token');
    // transformers defaults clean_up_tokenization_spaces to false since 4.45; the config may turn it on.
    this.cleanUpSpaces = config.clean_up_tokenization_spaces === true;
  }

  encode(text: string, opts: { addSpecialTokens?: boolean } = {}): number[] {
    return this.hf.encode(text, { add_special_tokens: opts.addSpecialTokens ?? true }).ids;
  }

  /**
   * Same text as transformers' fast-tokenizer decode (checked against it in test/tokenizer/). `spacesBetweenSpecialTokens`
   * is accepted and has no effect: transformers only applies it to slow (Python) tokenizers, and a tokenizer.json
   * tokenizer is a fast one. (vLLM's fast detokenizer uses it only to drop a space its stream decoder would put
   * between two added tokens; byte-level decoders such as Qwen's and Llama 3's never put one there.)
   */
  decode(ids: ArrayLike<number>, opts: DecodeOptions = {}): string {
    // As HF tokenizers: ids without a token (e.g. the padded embedding rows past the vocabulary) decode to nothing.
    // Special tokens are filtered here by id (the library matches token strings against a list per token).
    const skip = opts.skipSpecialTokens === true;
    const list = Array.from(ids).filter((id) => id >= 0 && id < this.size && !(skip && this.specialIds.has(id)));
    if (list.length === 0) return ''; // the library throws on an empty list
    return this.hf.decode(list, { skip_special_tokens: false, clean_up_tokenization_spaces: this.cleanUpSpaces });
  }

  idToToken(id: number): string | undefined {
    return this.hf.id_to_token(id);
  }

  tokenToId(token: string): number | undefined {
    return this.hf.token_to_id(token);
  }

  isSpecial(id: number): boolean {
    return this.specialIds.has(id);
  }

  /** true for every added token (special or not), e.g. <think> in Qwen3 */
  isAdded(id: number): boolean {
    return this.addedIds.has(id);
  }
}

/** Loads `tokenizer.json` (+ `tokenizer_config.json` when present) from a model folder. */
export async function loadTokenizer(dir: string): Promise<Tokenizer> {
  const path = join(dir, 'tokenizer.json');
  if (!existsSync(path)) {
    throw new Error(`no tokenizer.json in ${dir} (serval reads Hugging Face "fast" tokenizers only)`);
  }
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`cannot parse ${path}: ${(err as Error).message}`);
  }
  const config = readTokenizerConfig(dir);
  let hf: HfTokenizer;
  try {
    hf = new HfTokenizer(json as object, config);
  } catch (err) {
    throw new Error(`cannot build the tokenizer from ${path}: ${(err as Error).message}`);
  }
  return new Tokenizer(hf, config, dir, planByteLevelDecoding(json, config).table);
}
