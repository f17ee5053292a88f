import { LOG_FRAME_BYTES, MAX_LOG_LINE_CHARS, type LogLine } from '@aegis/protocol';
import type { OutputFlow } from '../sandbox/types.js';

/** Bytes of line JSON a job keeps; later build output is counted, not kept. */
export const DEFAULT_LOG_CAP_BYTES = 16 * 1024 * 1024;
/** An attached client this far behind (bytes not yet handed to its channel) holds the build's output back. */
export const DEFAULT_LAG_HIGH_WATER_BYTES = 1024 * 1024;
/** A client that takes nothing for this long no longer holds the build back (it catches up by seq later). */
export const DEFAULT_STALL_MS = 30_000;
/** Room past the cap for the machine's own lines: the truncation marker, build results, the final count. */
const SYSTEM_RESERVE_BYTES = 64 * 1024;

export interface LogBufferOptions {
  capBytes?: number;
  lagHighWaterBytes?: number;
  stallMs?: number;
  now?: () => number;
}

/** Where one attached client (a channel's log stream) has got to. */
export class LogCursor {
  lastMove: number;
  private waiter?: () => void;

  constructor(
    private readonly buf: LogBuffer,
    public seq: number,
    now: number,
  ) {
    this.lastMove = now;
  }

  /** Everything before `seq` has been handed to the channel. */
  advance(seq: number): void {
    this.seq = seq;
    this.lastMove = this.buf.clock();
    this.buf.progressed();
  }

  /** Resolves once there are lines past `seq`, or `wake()` is called. */
  waitForLines(): Promise<void> {
    if (this.buf.nextSeq > this.seq) return Promise.resolve();
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  close(): void {
    this.buf.detach(this);
    this.wake();
  }
}

/**
 * Every log line of a job, numbered from 0 with no gaps, kept (as its JSON) for replay by seq until the job is
 * forgotten. Past `capBytes` the build's lines are no longer kept but counted: one marker line says so when it
 * happens, `endOfOutput` adds the count.
 *
 * It is also the build's output flow control: while an attached client is more than `lagHighWaterBytes` behind
 * (and has moved within `stallMs`), `whenReady` tells the reader of the build's pipes to wait. With no client, or
 * once the cap is reached, nothing waits: a build can never block on a log nobody reads.
 */
export class LogBuffer implements OutputFlow {
  private readonly json: string[] = [];
  /** ends[i]: bytes of the JSON of lines 0..i. */
  private readonly ends: number[] = [];
  private bytes = 0;
  private capped = false;
  private droppedLines = 0;
  private droppedBytes = 0;
  private reportedLines = 0;
  private reportedBytes = 0;
  private readonly cursors = new Set<LogCursor>();
  private readyWaiters: (() => void)[] = [];
  private stallTimer?: NodeJS.Timeout;
  private readonly capBytes: number;
  private readonly highWater: number;
  private readonly stallMs: number;
  readonly clock: () => number;

  constructor(o: LogBufferOptions = {}) {
    this.capBytes = o.capBytes ?? DEFAULT_LOG_CAP_BYTES;
    this.highWater = o.lagHighWaterBytes ?? DEFAULT_LAG_HIGH_WATER_BYTES;
    this.stallMs = o.stallMs ?? DEFAULT_STALL_MS;
    this.clock = o.now ?? Date.now;
  }

  get nextSeq(): number {
    return this.json.length;
  }

  /** Lines and bytes (of text) counted but not kept because of the cap. */
  get dropped(): { lines: number; bytes: number } {
    return { lines: this.droppedLines, bytes: this.droppedBytes };
  }

  get isCapped(): boolean {
    return this.capped;
  }

  /** Adds a line; returns it, or undefined when it was only counted (over the cap). */
  append(stream: LogLine['stream'], text: string): LogLine | undefined {
    // Any line must fit in one frame: a longer one (only the machine's own could be) goes in pieces.
    if (text.length > MAX_LOG_LINE_CHARS) {
      let last: LogLine | undefined;
      for (let i = 0; i < text.length; i += MAX_LOG_LINE_CHARS)
        last = this.append(stream, text.slice(i, i + MAX_LOG_LINE_CHARS));
      return last;
    }
    const system = stream === 'system';
    if (this.capped && !system) return this.drop(text);
    const line: LogLine = { seq: this.nextSeq, ts: this.clock(), stream, text };
    const json = JSON.stringify(line);
    const size = Buffer.byteLength(json);
    if (this.bytes + size > this.capBytes + (system ? SYSTEM_RESERVE_BYTES : 0)) {
      if (!this.capped) this.reachCap();
      return this.drop(text);
    }
    this.store(json, size);
    return line;
  }

  /**
   * Ends one build's output: when lines were dropped since the last call, a line with their count. Machine lines
   * may follow (results), build output is still counted.
   */
  endOfOutput(): void {
    const lines = this.droppedLines - this.reportedLines;
    if (lines === 0) return;
    const bytes = this.droppedBytes - this.reportedBytes;
    this.reportedLines = this.droppedLines;
    this.reportedBytes = this.droppedBytes;
    this.append(
      'system',
      `Log truncated: ${lines} more lines (${bytes} bytes) of build output came after the ${mib(this.capBytes)} log cap and were counted, not kept.`,
    );
  }

  /** Up to `limit` lines from `sinceSeq`, and no more than about LOG_FRAME_BYTES of them (always at least one). */
  read(sinceSeq: number, limit = 1000): { lines: LogLine[]; next_seq: number; more: boolean } {
    const start = Math.min(sinceSeq, this.nextSeq);
    const page = this.slice(start, LOG_FRAME_BYTES, limit);
    const lines = page.json.length ? (JSON.parse(`[${page.json.join(',')}]`) as LogLine[]) : [];
    return { lines, next_seq: page.next, more: page.next < this.nextSeq };
  }

  /** The JSON of lines from `seq` on: at most `maxBytes` (with separators) unless one line alone is larger. */
  slice(seq: number, maxBytes: number, maxLines = Number.POSITIVE_INFINITY): { json: string[]; next: number } {
    let end = seq;
    let used = 0;
    while (end < this.json.length && end - seq < maxLines) {
      const size = this.ends[end] - (end > 0 ? this.ends[end - 1] : 0) + 1;
      if (used + size > maxBytes && end > seq) break;
      used += size;
      end++;
    }
    return { json: this.json.slice(seq, end), next: end };
  }

  /** Bytes of line JSON from `seq` to the end. */
  bytesFrom(seq: number): number {
    if (seq >= this.json.length) return 0;
    return this.bytes - (seq > 0 ? this.ends[seq - 1] : 0);
  }

  /** A client starts following the log at `fromSeq` (default: lines written from now on). */
  attach(fromSeq = this.nextSeq): LogCursor {
    const c = new LogCursor(this, Math.min(fromSeq, this.nextSeq), this.clock());
    this.cursors.add(c);
    return c;
  }

  whenReady(): Promise<void> | undefined {
    if (!this.congested()) return undefined;
    return new Promise((resolve) => {
      this.readyWaiters.push(resolve);
      this.armStallTimer();
    });
  }

  /** @internal LogCursor → buffer. */
  detach(c: LogCursor): void {
    this.cursors.delete(c);
    this.progressed();
  }

  /** @internal A cursor moved or left: release the build's output if nobody is behind any more. */
  progressed(): void {
    if (this.readyWaiters.length === 0 || this.congested()) return;
    const waiters = this.readyWaiters;
    this.readyWaiters = [];
    if (this.stallTimer) clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
    for (const w of waiters) w();
  }

  private congested(): boolean {
    if (this.capped) return false;
    const now = this.clock();
    for (const c of this.cursors)
      if (now - c.lastMove < this.stallMs && this.bytesFrom(c.seq) > this.highWater) return true;
    return false;
  }

  /** A client that stops reading must not hold the build forever: look again once it counts as stalled. */
  private armStallTimer(): void {
    if (this.stallTimer) return;
    this.stallTimer = setTimeout(() => {
      this.stallTimer = undefined;
      this.progressed();
      if (this.readyWaiters.length) this.armStallTimer();
    }, this.stallMs);
    this.stallTimer.unref();
  }

  private store(json: string, size: number): void {
    this.json.push(json);
    this.bytes += size;
    this.ends.push(this.bytes);
    for (const c of this.cursors) c.wake();
  }

  private reachCap(): void {
    this.capped = true;
    const marker: LogLine = {
      seq: this.nextSeq,
      ts: this.clock(),
      stream: 'system',
      text: `Log cap reached: this job keeps ${mib(this.capBytes)} of log; further build output is counted, not kept. The build goes on.`,
    };
    const json = JSON.stringify(marker);
    this.store(json, Buffer.byteLength(json));
    this.progressed();
  }

  private drop(text: string): undefined {
    this.droppedLines++;
    this.droppedBytes += Buffer.byteLength(text) + 1;
    return undefined;
  }
}

const mib = (bytes: number): string =>
  bytes >= 1024 * 1024 ? `${+(bytes / (1024 * 1024)).toFixed(1)} MiB` : `${Math.ceil(bytes / 1024)} KiB`;
