import type { LogLine } from '@aegis/protocol';

export interface LogPage {
  lines: LogLine[];
  /** Pass this as `since_seq` next time: the page never repeats or skips a line. */
  next_seq: number;
  more: boolean;
}

/** Lines kept per task; older ones are dropped and a reader asking for them resumes at the oldest kept. */
export const LOG_BUFFER_MAX_LINES = 50_000;

/**
 * A task's log, indexed by `seq`. Lines may arrive out of order or twice (replay after a reconnect);
 * only the next expected seq is appended, so readers see each line exactly once.
 */
export class LogBuffer {
  private lines: LogLine[] = [];
  private firstSeq = 0;
  private pending = new Map<number, LogLine>();
  private listeners = new Set<(line: LogLine) => void>();

  constructor(private readonly max = LOG_BUFFER_MAX_LINES) {}

  get nextSeq(): number {
    return this.firstSeq + this.lines.length;
  }

  push(line: LogLine): void {
    if (line.seq < this.nextSeq) return;
    this.pending.set(line.seq, line);
    for (let l = this.pending.get(this.nextSeq); l; l = this.pending.get(this.nextSeq)) {
      this.pending.delete(l.seq);
      this.lines.push(l);
      for (const fn of this.listeners) fn(l);
    }
    if (this.lines.length > this.max) {
      const drop = this.lines.length - this.max;
      this.lines.splice(0, drop);
      this.firstSeq += drop;
    }
  }

  /** Up to `limit` lines starting at `sinceSeq`. */
  read(sinceSeq: number, limit: number): LogPage {
    const from = Math.max(sinceSeq, this.firstSeq);
    const start = from - this.firstSeq;
    const page = this.lines.slice(start, start + limit);
    const next = from + page.length;
    return { lines: page, next_seq: next, more: next < this.nextSeq };
  }

  /** The last `limit` lines. */
  tail(limit: number): LogPage {
    return this.read(Math.max(this.firstSeq, this.nextSeq - limit), limit);
  }

  onLine(fn: (line: LogLine) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}
