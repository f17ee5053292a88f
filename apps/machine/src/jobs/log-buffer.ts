import type { LogLine } from '@aegis/protocol';

/**
 * Every log line of a job, numbered from 0 with no gaps, kept for replay (`log.read`) until the job is forgotten.
 * Past `maxBytes` the oldest lines are dropped; readers then start at the oldest line still held.
 */
export class LogBuffer {
  private lines: LogLine[] = [];
  private first = 0;
  private bytes = 0;
  private readonly listeners = new Set<(line: LogLine) => void>();

  constructor(
    private readonly maxBytes = 32 * 1024 * 1024,
    private readonly now: () => number = Date.now,
  ) {}

  get nextSeq(): number {
    return this.first + this.lines.length;
  }

  append(stream: LogLine['stream'], text: string): LogLine {
    const line: LogLine = { seq: this.nextSeq, ts: this.now(), stream, text };
    this.lines.push(line);
    this.bytes += text.length + 32;
    while (this.bytes > this.maxBytes && this.lines.length > 1) {
      const dropped = this.lines.shift()!;
      this.first++;
      this.bytes -= dropped.text.length + 32;
    }
    for (const cb of this.listeners) cb(line);
    return line;
  }

  read(sinceSeq: number, limit = 1000): { lines: LogLine[]; next_seq: number; more: boolean } {
    const start = Math.max(0, sinceSeq - this.first);
    const lines = this.lines.slice(start, start + limit);
    const next = lines.length ? lines[lines.length - 1].seq + 1 : Math.max(sinceSeq, this.first);
    return { lines, next_seq: Math.min(next, this.nextSeq), more: next < this.nextSeq };
  }

  subscribe(cb: (line: LogLine) => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }
}
