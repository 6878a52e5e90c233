// GPT-2's byte-level BPE alphabet: every byte is written as a printable character in vocab strings (space → 'Ġ',
// newline → 'Ċ', ...). Shared by the byte-level detokenizer and the structured-output token vocabulary.

/** the alphabet's characters are all below this code unit */
const ALPHABET_END = 0x144;

/** UTF-16 code unit of an alphabet character → the byte it stands for; -1 for characters outside the alphabet */
export function byteLevelCharToByte(): Int16Array {
  const bs: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n++);
    }
  }
  const lookup = new Int16Array(ALPHABET_END).fill(-1);
  bs.forEach((b, i) => (lookup[cs[i]!] = b));
  return lookup;
}

/** writes a vocab string's bytes (one per character) into out at `at`; false when a character is outside the alphabet */
export function writeByteLevelTokenBytes(token: string, charToByte: Int16Array, out: Uint8Array, at: number): boolean {
  for (let i = 0; i < token.length; i++) {
    const c = token.charCodeAt(i);
    const b = c < ALPHABET_END ? charToByte[c]! : -1;
    if (b < 0) return false;
    out[at + i] = b;
  }
  return true;
}

/** a vocab string's bytes; null when a character is outside the alphabet */
export function byteLevelTokenBytes(token: string, charToByte: Int16Array): Uint8Array | null {
  const out = new Uint8Array(token.length);
  return writeByteLevelTokenBytes(token, charToByte, out, 0) ? out : null;
}
