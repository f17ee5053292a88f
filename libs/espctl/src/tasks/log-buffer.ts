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
 * A task's log, indexed by `seq`. Lines arrive in batches (one per `log` frame), may arrive out of order or twice
 * (replay after a reconnect); only the next expected seq is appended, so readers see each line exactly once.
 * Listeners hear once per batch, never once per line.
 */
export class LogBuffer {
  private lines: LogLine[] = [];
  /** Index in `lines` of the oldest line kept: dropping is amortised, not a shift per line. */
  private head = 0;
  private firstSeq = 0;
  private pending = new Map<number, LogLine>();
  private listeners = new Set<(lines: LogLine[]) => void>();

  constructor(private readonly max = LOG_BUFFER_MAX_LINES) {}

  get nextSeq(): number {
    return this.firstSeq + this.lines.length - this.head;
  }

  push(line: LogLine): void {
    this.pushAll([line]);
  }

  pushAll(batch: readonly LogLine[]): void {
    const added: LogLine[] = [];
    for (const line of batch) {
      if (line.seq < this.nextSeq) continue;
      if (line.seq > this.nextSeq) {
        // Ahead of a gap (live lines while a replay is still coming): held until the gap is filled.
        if (this.pending.size < this.max) this.pending.set(line.seq, line);
        continue;
      }
      this.lines.push(line);
      added.push(line);
      for (let l = this.pending.get(this.nextSeq); l; l = this.pending.get(this.nextSeq)) {
        this.pending.delete(l.seq);
        this.lines.push(l);
        added.push(l);
      }
    }
    if (added.length === 0) return;
    const kept = this.lines.length - this.head;
    if (kept > this.max) {
      const drop = kept - this.max;
      this.head += drop;
      this.firstSeq += drop;
      if (this.head > this.max) {
        this.lines = this.lines.slice(this.head);
        this.head = 0;
      }
    }
    for (const fn of this.listeners) fn(added);
  }

  /** Up to `limit` lines starting at `sinceSeq`. */
  read(sinceSeq: number, limit: number): LogPage {
    const from = Math.max(sinceSeq, this.firstSeq);
    const start = this.head + from - this.firstSeq;
    const page = this.lines.slice(start, start + limit);
    const next = from + page.length;
    return { lines: page, next_seq: next, more: next < this.nextSeq };
  }

  /** The last `limit` lines. */
  tail(limit: number): LogPage {
    return this.read(Math.max(this.firstSeq, this.nextSeq - limit), limit);
  }

  /** Called with each batch of newly appended lines, in seq order. */
  onLines(fn: (lines: LogLine[]) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}
