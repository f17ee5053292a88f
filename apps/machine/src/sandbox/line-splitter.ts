const MAX_LINE = 16 * 1024;

/** Turns a byte stream into lines (without the newline); a trailing partial line is emitted by `flush`. */
export class LineSplitter {
  private pending = '';
  private readonly decoder = new TextDecoder();

  constructor(private readonly emit: (line: string) => void) {}

  push(chunk: Uint8Array): void {
    this.pending += this.decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = this.pending.indexOf('\n')) >= 0) {
      this.emit(this.pending.slice(0, nl).replace(/\r$/, ''));
      this.pending = this.pending.slice(nl + 1);
    }
    // A process that never prints a newline must not grow our memory without bound.
    while (this.pending.length > MAX_LINE) {
      this.emit(this.pending.slice(0, MAX_LINE));
      this.pending = this.pending.slice(MAX_LINE);
    }
  }

  flush(): void {
    this.pending += this.decoder.decode();
    if (this.pending.length > 0) this.emit(this.pending.replace(/\r$/, ''));
    this.pending = '';
  }
}
