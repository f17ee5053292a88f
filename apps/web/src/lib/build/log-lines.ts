import type { LogLine } from '@aegis/protocol';

export const MAX_LOG_LINES = 50_000;
/** The view is updated at most this often: a flood of frames is one re-render per tick, not one per frame. */
export const LOG_FLUSH_MS = 100;

export interface LogLinesOptions {
  /** Receives the whole visible log (the newest `maxLines`) after each coalesced update. */
  publish(lines: LogLine[]): void;
  maxLines?: number;
  flushMs?: number;
  schedule?: (fn: () => void, ms: number) => unknown;
}

/**
 * The dashboard's copy of one job's log. Live `log` frames and `log.read` replay pages go in; each seq is kept once
 * and in order. While a replay runs, live frames wait (they start further on), so the replay never loses lines to
 * a live frame that got ahead of it.
 */
export class LogLines {
  private lines: LogLine[] = [];
  private queued: LogLine[] = [];
  private heldLive: LogLine[] = [];
  private replaying = false;
  private timer: unknown = null;
  private seqSeen = -1;
  private readonly maxLines: number;
  private readonly flushMs: number;
  private readonly schedule: (fn: () => void, ms: number) => unknown;

  constructor(private readonly o: LogLinesOptions) {
    this.maxLines = o.maxLines ?? MAX_LOG_LINES;
    this.flushMs = o.flushMs ?? LOG_FLUSH_MS;
    this.schedule = o.schedule ?? ((fn, ms) => setTimeout(fn, ms));
  }

  /** One live `log` frame. */
  live(batch: LogLine[]): void {
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
  replayed(page: LogLine[]): void {
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
    const all = this.lines.concat(fresh);
    this.lines = all.length > this.maxLines ? all.slice(all.length - this.maxLines) : all;
    this.o.publish(this.lines);
  }

  private enqueue(batch: LogLine[]): void {
    if (!batch.length) return;
    for (const l of batch) this.queued.push(l);
    if (this.timer === null) this.timer = this.schedule(() => this.flush(), this.flushMs);
  }
}
