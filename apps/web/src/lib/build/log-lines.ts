import type { LogLine } from '@aegis/protocol';

/** Lines kept per job; the oldest whole chunks go first when a log grows past it. */
export const MAX_LOG_LINES = 200_000;
/** Lines per chunk of the store: appends never copy more than one chunk, eviction drops whole chunks. */
export const LOG_CHUNK_LINES = 1024;
/** The view is updated at most this often: a flood of frames is one re-render per tick, not one per frame. */
export const LOG_FLUSH_MS = 100;

/**
 * One job's log lines, append-only and chunked: adding a line never copies the lines before it, so a build's
 * 100,000 lines cost the same per line as its first ten. Lines have a global index (0 = the first line ever
 * appended) that stays valid while older chunks are evicted.
 */
export class LineStore {
  private chunks: LogLine[][] = [];
  /** Global index of chunks[0][0]. */
  private first = 0;
  private total = 0;

  constructor(
    private readonly maxLines = MAX_LOG_LINES,
    private readonly chunkLines = LOG_CHUNK_LINES,
  ) {}

  /** Global index of the oldest line still kept. */
  get start(): number {
    return this.first;
  }

  /** Global index one past the newest line. */
  get end(): number {
    return this.total;
  }

  get length(): number {
    return this.total - this.first;
  }

  /** The line at a global index, or undefined when it was evicted or not written yet. */
  at(index: number): LogLine | undefined {
    if (index < this.first || index >= this.total) return undefined;
    const k = index - this.first;
    return this.chunks[Math.floor(k / this.chunkLines)][k % this.chunkLines];
  }

  append(lines: readonly LogLine[]): void {
    for (const l of lines) {
      let last = this.chunks[this.chunks.length - 1];
      if (!last || last.length === this.chunkLines) {
        last = [];
        this.chunks.push(last);
      }
      last.push(l);
      this.total++;
    }
    // Whole chunks only, so indexes inside the kept chunks never move.
    while (this.chunks.length > 1 && this.length - this.chunks[0].length >= this.maxLines) {
      this.first += this.chunks.shift()!.length;
    }
  }

  /** Global index of the line with this seq (seqs only grow along the store), or -1. */
  indexOfSeq(seq: number): number {
    let lo = this.first;
    let hi = this.total - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const s = this.at(mid)!.seq;
      if (s === seq) return mid;
      if (s < seq) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }
}

/**
 * What the view renders: the store and the range it held when published. A new object per update (cheap: the
 * lines are not copied), so React sees the change.
 */
export interface LogSnapshot {
  readonly store: LineStore;
  /** Global index of the first line to show. */
  readonly start: number;
  /** Global index one past the last line to show. */
  readonly end: number;
}

export function emptyLog(): LogSnapshot {
  const store = new LineStore();
  return { store, start: 0, end: 0 };
}

export interface LogLinesOptions {
  /** After each coalesced update: the log as it stands and the lines this update added (in order, each seq once). */
  publish(log: LogSnapshot, fresh: readonly LogLine[]): void;
  store?: LineStore;
  flushMs?: number;
  schedule?: (fn: () => void, ms: number) => unknown;
}

/**
 * The dashboard's copy of one job's log. Live `log` frames and `log.read` replay pages go in; each seq is kept once
 * and in order. While a replay runs, live frames wait (they start further on), so the replay never loses lines to
 * a live frame that got ahead of it.
 */
export class LogLines {
  readonly store: LineStore;
  private queued: LogLine[] = [];
  private heldLive: LogLine[] = [];
  private replaying = false;
  private timer: unknown = null;
  private seqSeen = -1;
  private readonly flushMs: number;
  private readonly schedule: (fn: () => void, ms: number) => unknown;

  constructor(private readonly o: LogLinesOptions) {
    this.store = o.store ?? new LineStore();
    this.flushMs = o.flushMs ?? LOG_FLUSH_MS;
    this.schedule = o.schedule ?? ((fn, ms) => setTimeout(fn, ms));
  }

  /** One live `log` frame. */
  live(batch: readonly LogLine[]): void {
    if (this.replaying) {
      for (const l of batch) this.heldLive.push(l);
      return;
    }
    this.enqueue(batch);
  }

  beginReplay(): void {
    this.replaying = true;
  }

  /** One `log.read` page. */
  replayed(page: readonly LogLine[]): void {
    this.enqueue(page);
  }

  endReplay(): void {
    this.replaying = false;
    const held = this.heldLive;
    this.heldLive = [];
    this.enqueue(held);
  }

  /** Apply everything queued now (also what the timer does). */
  flush(): void {
    this.timer = null;
    const fresh: LogLine[] = [];
    for (const l of this.queued) {
      if (l.seq <= this.seqSeen) continue;
      fresh.push(l);
      this.seqSeen = l.seq;
    }
    this.queued = [];
    if (!fresh.length) return;
    this.store.append(fresh);
    this.o.publish({ store: this.store, start: this.store.start, end: this.store.end }, fresh);
  }

  private enqueue(batch: readonly LogLine[]): void {
    if (!batch.length) return;
    for (const l of batch) this.queued.push(l);
    if (this.timer === null) this.timer = this.schedule(() => this.flush(), this.flushMs);
  }
}
