// Streaming UTF-8 → string with U+FFFD for each maximal invalid subpart (the WHATWG decoder, which is also what
// Rust's String::from_utf8_lossy does). Unlike TextDecoder it tells whether bytes of an unfinished character are
// held back, which the detokenizer needs to hold its output back exactly as decode-and-compare does.
const REPLACEMENT = 0xfffd;

export class Utf8StreamDecoder {
  private needed = 0;
  private seen = 0;
  private codePoint = 0;
  private lower = 0x80;
  private upper = 0xbf;

  /** true while the last bytes are the valid start of a character that is not complete yet */
  get incomplete(): boolean {
    return this.needed !== 0;
  }

  /** decodes bytes[from, to); returns the completed characters */
  write(bytes: Uint8Array, from: number, to: number): string {
    let out = '';
    for (let i = from; i < to; i++) {
      const b = bytes[i]!;
      if (this.needed === 0) {
        if (b <= 0x7f) out += String.fromCharCode(b);
        else if (b >= 0xc2 && b <= 0xdf) this.start(1, b & 0x1f);
        else if (b >= 0xe0 && b <= 0xef) {
          if (b === 0xe0) this.lower = 0xa0;
          if (b === 0xed) this.upper = 0x9f;
          this.start(2, b & 0x0f);
        } else if (b >= 0xf0 && b <= 0xf4) {
          if (b === 0xf0) this.lower = 0x90;
          if (b === 0xf4) this.upper = 0x8f;
          this.start(3, b & 0x07);
        } else out += String.fromCharCode(REPLACEMENT);
        continue;
      }
      if (b < this.lower || b > this.upper) {
        // the sequence so far is one invalid subpart; this byte starts afresh
        this.reset();
        out += String.fromCharCode(REPLACEMENT);
        i--;
        continue;
      }
      this.lower = 0x80;
      this.upper = 0xbf;
      this.codePoint = (this.codePoint << 6) | (b & 0x3f);
      if (++this.seen === this.needed) {
        out += String.fromCodePoint(this.codePoint);
        this.reset();
      }
    }
    return out;
  }

  /** end of a run: an unfinished character becomes one U+FFFD */
  end(): string {
    if (this.needed === 0) return '';
    this.reset();
    return String.fromCharCode(REPLACEMENT);
  }

  private start(needed: number, bits: number): void {
    this.needed = needed;
    this.codePoint = bits;
  }

  private reset(): void {
    this.needed = 0;
    this.seen = 0;
    this.codePoint = 0;
    this.lower = 0x80;
    this.upper = 0xbf;
  }
}
