// Streams generated text token by token without ever emitting half a UTF-8 character.
//
// vLLM's prefix/read-offset method: decode a small window [prefixOffset, end) of ids and compare it with the text
// of [prefixOffset, readOffset) (already emitted). The new text is what the window adds, emitted only when it does
// not end in U+FFFD (a character whose bytes are split across tokens, held back until its last byte arrives).
// Decoding a few tokens of context before the unread ones keeps decoders that depend on their neighbours (e.g.
// Metaspace stripping the first token's leading space) right. The window only spans the last emitted chunk plus
// what is held back, so a push costs O(new tokens), not O(total). Token by token, the output equals HF tokenizers'
// DecodeStream, which vLLM v1 streams with (test/tokenizer/stream-reference.test.ts); flush() additionally returns
// text still held back at the end (a character that never completed, as U+FFFD), so the whole stream always
// equals decode(all ids). Byte-level tokenizers take ByteLevelDetokenizer instead (createDetokenizer picks).
import type { DecodeOptions, TextTokenizer } from './types.js';

/** prompt tokens kept as left context for the first generated tokens (vLLM uses 5) */
const PROMPT_CONTEXT_TOKENS = 5;
const REPLACEMENT = '\uFFFD';

export class IncrementalDetokenizer {
  /** ids from prefixOffset on; earlier ids are dropped as they are no longer needed */
  private window: number[];
  /** window index up to which text has been emitted */
  private readOffset: number;
  /** decode(window[0:readOffset]) */
  private prefixText: string;
  private readonly decodeOptions: DecodeOptions;

  constructor(
    private readonly tokenizer: TextTokenizer,
    promptTokenIds: ArrayLike<number>,
    opts: DecodeOptions = {},
  ) {
    this.decodeOptions = { ...opts, skipSpecialTokens: opts.skipSpecialTokens ?? true };
    const prompt = Array.from(promptTokenIds);
    this.window = prompt.slice(Math.max(0, prompt.length - PROMPT_CONTEXT_TOKENS));
    // A prompt that ends inside a character: treat its incomplete tail as unread, so the first generated token
    // that completes the character emits all of it.
    this.readOffset = this.window.length;
    this.prefixText = this.decode(this.window);
    while (this.readOffset > 0 && this.prefixText.endsWith(REPLACEMENT)) {
      this.readOffset -= 1;
      this.prefixText = this.decode(this.window.slice(0, this.readOffset));
    }
  }

  /** Adds generated ids; returns the text they complete (possibly ''). */
  push(newIds: ArrayLike<number>): string {
    for (let i = 0; i < newIds.length; i++) this.window.push(newIds[i]!);
    const text = this.decode(this.window);
    if (text.length <= this.prefixText.length || text.endsWith(REPLACEMENT)) return '';
    return this.advance(text);
  }

  /** End of the stream: returns whatever is still held back (a truly broken character comes out as U+FFFD). */
  flush(): string {
    const text = this.decode(this.window);
    if (text.length <= this.prefixText.length) return '';
    return this.advance(text);
  }

  private advance(text: string): string {
    const delta = text.slice(this.prefixText.length);
    // the read part becomes the next prefix context; everything before it is never decoded again
    this.window = this.window.slice(this.readOffset);
    this.readOffset = this.window.length;
    this.prefixText = this.decode(this.window);
    return delta;
  }

  private decode(ids: number[]): string {
    return this.tokenizer.decode(ids, this.decodeOptions);
  }
}
