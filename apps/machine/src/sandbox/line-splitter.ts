import { MAX_LOG_LINE_CHARS } from '@aegis/protocol';

/**
 * Turns a byte stream into lines (without the newline); a trailing partial line is emitted by `flush`.
 * Linear in the input: each chunk is scanned once from a cursor, and only the unfinished tail is carried over.
 * A line longer than MAX_LOG_LINE_CHARS is emitted in pieces, so a process that never prints a newline cannot grow
 * our memory and every line fits in one frame.
 */
export class LineSplitter {
  private pending = '';
  private readonly decoder = new TextDecoder();

  constructor(
    private readonly emit: (line: string) => void,
    private readonly maxLine = MAX_LOG_LINE_CHARS,
  ) {}

  push(chunk: Uint8Array): void {
    this.split(this.pending + this.decoder.decode(chunk, { stream: true }));
  }

  flush(): void {
    this.split(this.pending + this.decoder.decode());
    if (this.pending.length > 0) this.emit(stripCr(this.pending));
    this.pending = '';
  }

  private split(text: string): void {
    let start = 0;
    for (;;) {
      const nl = text.indexOf('\n', start);
      const end = nl < 0 ? text.length : nl;
      // Cut overlong lines into pieces before looking at the next newline.
      while (end - start > this.maxLine) {
        this.emit(text.slice(start, start + this.maxLine));
        start += this.maxLine;
      }
      if (nl < 0) break;
      this.emit(stripCr(text.slice(start, nl)));
      start = nl + 1;
    }
    this.pending = text.slice(start);
  }
}

const stripCr = (line: string): string => (line.endsWith('\r') ? line.slice(0, -1) : line);
