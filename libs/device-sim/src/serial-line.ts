import type { Clock } from './clock.js';

/**
 * One direction of a serial line. Bytes arrive in order; with a rate set, a chunk arrives when its last byte
 * would have: start = max(now, line free), end = start + bytes / rate. Without a rate it is delivered on the
 * next microtask (async, so host and device never call into each other re-entrantly).
 */
export class SerialLine {
  private queue: { at: number; bytes: Uint8Array }[] = [];
  private freeAt = 0;
  private scheduled = false;
  private generation = 0;

  constructor(
    private readonly clock: Clock,
    private readonly deliver: (bytes: Uint8Array) => void,
  ) {}

  send(bytes: Uint8Array, bytesPerSec: number | null): void {
    if (bytes.length === 0) return;
    const now = this.clock.now();
    let at = now;
    if (bytesPerSec) {
      at = Math.max(now, this.freeAt) + (bytes.length * 1000) / bytesPerSec;
      this.freeAt = at;
    }
    this.queue.push({ at, bytes });
    this.schedule();
  }

  /** Drop everything in flight (the receiving side went away, or the sender was reset). */
  clear(): void {
    this.queue = [];
    this.freeAt = 0;
    this.generation++;
    this.scheduled = false;
  }

  /** Milliseconds until the line is idle. */
  busyFor(): number {
    return Math.max(0, this.freeAt - this.clock.now());
  }

  private schedule(): void {
    if (this.scheduled || this.queue.length === 0) return;
    this.scheduled = true;
    const gen = this.generation;
    const wait = this.queue[0].at - this.clock.now();
    const run = () => {
      if (gen !== this.generation) return;
      this.scheduled = false;
      this.pump();
    };
    if (wait <= 0) queueMicrotask(run);
    else this.clock.setTimeout(run, wait);
  }

  private pump(): void {
    // 1 ms tolerance: timers have millisecond resolution.
    const now = this.clock.now() + 1;
    while (this.queue.length > 0 && this.queue[0].at <= now) {
      const gen = this.generation;
      this.deliver(this.queue.shift()!.bytes);
      if (gen !== this.generation) return;
    }
    this.schedule();
  }
}
