// Streams generated text for byte-level BPE tokenizers (Qwen, Llama 3, GPT-2 style) in O(new tokens) per push:
// each id's bytes come from a table built once (byte-level-table.ts) and run through a streaming UTF-8 decoder.
// Its output equals IncrementalDetokenizer's chunk for chunk: text is held back while the unread text would end
// in U+FFFD (an unfinished character, or a replacement character that a later token might turn out to precede),
// and flush() returns what is held back, an unfinished character as U+FFFD. The prompt's last tokens are read the
// same way, so a character split between the prompt and the first generated token comes out whole.
import { ByteLevelKind, type ByteLevelTable } from './byte-level-table.js';
import { Utf8StreamDecoder } from './utf8-stream-decoder.js';
import type { DecodeOptions } from './types.js';

/** as IncrementalDetokenizer: the prompt tokens that may hold the start of a character */
const PROMPT_CONTEXT_TOKENS = 5;
const REPLACEMENT = '\uFFFD';

export class ByteLevelDetokenizer {
  private readonly utf8 = new Utf8StreamDecoder();
  private readonly skipSpecial: boolean;
  /** decoded text not emitted yet */
  private unread = '';
  private flushed = false;

  constructor(
    private readonly table: ByteLevelTable,
    promptTokenIds: ArrayLike<number>,
    opts: DecodeOptions = {},
  ) {
    this.skipSpecial = opts.skipSpecialTokens ?? true;
    const from = Math.max(0, promptTokenIds.length - PROMPT_CONTEXT_TOKENS);
    const context = Array.from({ length: promptTokenIds.length - from }, (_, i) => promptTokenIds[from + i]!);
    // The read prompt is the longest prefix of the context whose text does not end in U+FFFD; the rest is unread
    // and is emitted together with the first generated token that completes it.
    let readOffset = context.length;
    while (readOffset > 0 && this.decodeFresh(context.slice(0, readOffset)).endsWith(REPLACEMENT)) readOffset--;
    this.feed(context.slice(readOffset));
  }

  /** Adds generated ids; returns the text they complete (possibly ''). */
  push(newIds: ArrayLike<number>): string {
    if (this.flushed) throw new Error('ByteLevelDetokenizer: push() after flush() (flush ends the stream)');
    this.feed(newIds);
    if (this.utf8.incomplete || this.unread.endsWith(REPLACEMENT)) return '';
    const text = this.unread;
    this.unread = '';
    return text;
  }

  /** End of the stream: returns whatever is still held back (an unfinished character as U+FFFD). */
  flush(): string {
    this.flushed = true;
    const text = this.unread + this.utf8.end();
    this.unread = '';
    return text;
  }

  private feed(ids: ArrayLike<number>): void {
    const { kind, bytes, offsets, addedContent, size } = this.table;
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (id < 0 || id >= size) continue; // as decode: ids without a token add nothing
      const k = kind[id];
      if (k === ByteLevelKind.Bytes) {
        this.unread += this.utf8.write(bytes, offsets[id]!, offsets[id + 1]!);
      } else if (k === ByteLevelKind.Added || !this.skipSpecial) {
        // an added token ends the byte run before it and is written verbatim
        this.unread += this.utf8.end() + addedContent[id]!;
      }
    }
  }

  private decodeFresh(ids: number[]): string {
    const saved = this.unread;
    this.unread = '';
    this.feed(ids);
    const text = this.unread + this.utf8.end();
    this.unread = saved;
    return text;
  }
}
