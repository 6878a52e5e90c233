// Splits a streamed `text/event-stream` body into the payloads of its `data:` fields. Bytes arrive in arbitrary
// pieces, so a message is only emitted once its blank-line terminator has been seen (or, at the end, whatever is left).

export class SseDataSplitter {
  private buffer = '';
  private readonly decoder = new TextDecoder('utf-8');

  /** feed raw bytes; returns the data payloads of the messages completed by them */
  push(bytes: Uint8Array): string[] {
    this.buffer += this.decoder.decode(bytes, { stream: true }).replace(/\r\n?/g, '\n');
    const out: string[] = [];
    let end: number;
    while ((end = this.buffer.indexOf('\n\n')) >= 0) {
      const message = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      const data = dataOf(message);
      if (data !== null) out.push(data);
    }
    return out;
  }

  /** the stream ended: returns the payload of an unterminated last message, if any */
  finish(): string[] {
    this.buffer += this.decoder.decode();
    const data = dataOf(this.buffer.replace(/\r\n?/g, '\n'));
    this.buffer = '';
    return data === null ? [] : [data];
  }
}

/** the joined `data:` lines of one SSE message; null for comments/pings and messages without data */
function dataOf(message: string): string | null {
  const lines: string[] = [];
  for (const line of message.split('\n')) {
    if (line.startsWith('data:')) lines.push(line.slice(line.startsWith('data: ') ? 6 : 5));
  }
  return lines.length === 0 ? null : lines.join('\n');
}
