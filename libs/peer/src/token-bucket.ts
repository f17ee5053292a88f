/** Clock and sleep enter as parameters so the bucket is testable without real time. */
export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

export interface TokenBucketOptions {
  /** Tokens added per second. */
  ratePerSec: number;
  /** Most tokens the bucket holds; also the most a single take waits for before going into debt. */
  burst: number;
  /** Tokens at start; defaults to `burst`. */
  initial?: number;
  clock?: Clock;
}

/**
 * A token bucket that may go into debt: `take(n)` waits until the bucket holds min(n, burst) tokens and then
 * subtracts n. A frame larger than the burst therefore still passes, and the long-run rate stays exact.
 * Over the limit it waits; it never fails.
 */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private readonly clock: Clock;
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly opts: TokenBucketOptions) {
    if (!(opts.ratePerSec > 0) || !(opts.burst > 0))
      throw new RangeError('token bucket needs a positive rate and burst');
    this.clock = opts.clock ?? systemClock;
    this.tokens = opts.initial ?? opts.burst;
    this.last = this.clock.now();
  }

  get ratePerSec(): number {
    return this.opts.ratePerSec;
  }

  /** Tokens available now (negative while in debt). */
  available(): number {
    this.refill();
    return this.tokens;
  }

  /** Waits (in FIFO order with other takers) until `n` tokens may be spent, then spends them. */
  take(n: number): Promise<void> {
    const run = this.queue.then(() => this.takeNow(n));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async takeNow(n: number): Promise<void> {
    const need = Math.min(n, this.opts.burst);
    for (;;) {
      this.refill();
      if (this.tokens >= need) break;
      const waitMs = ((need - this.tokens) / this.opts.ratePerSec) * 1000;
      await this.clock.sleep(Math.max(1, Math.ceil(waitMs)));
    }
    this.tokens -= n;
  }

  private refill(): void {
    const now = this.clock.now();
    const elapsed = Math.max(0, now - this.last) / 1000;
    this.last = now;
    this.tokens = Math.min(this.opts.burst, this.tokens + elapsed * this.opts.ratePerSec);
  }
}
