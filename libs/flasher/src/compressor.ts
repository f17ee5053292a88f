import pako from 'pako';

/** Slice size: small enough that protocol round trips running alongside are delayed by only a few ms. */
const SLICE = 16 * 1024;

const yieldToEventLoop = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/**
 * zlib (level 9, as esptool) in slices that yield to the event loop, so compression can run while the
 * connect handshake is waiting on its reset and baud-change delays instead of after it.
 */
export class Compressor {
  private readonly jobs = new Map<Uint8Array, { result: Promise<Uint8Array>; token: { cancelled: boolean } }>();

  /** Begin compressing `data` in the background (result kept until `take`). */
  start(data: Uint8Array): void {
    if (!this.jobs.has(data)) {
      const token = { cancelled: false };
      const result = this.run(data, token);
      result.catch(() => {}); // observed by take(); a cancelled background job is not an error
      this.jobs.set(data, { result, token });
    }
  }

  /** The compressed form of `data`: from a background job if one was started, else compressed now. */
  async take(data: Uint8Array): Promise<Uint8Array> {
    const job = this.jobs.get(data);
    this.jobs.delete(data);
    return job ? job.result : this.run(data, { cancelled: false });
  }

  /** Stop the background job for `data`, if any (its part turned out unchanged or only partly changed). */
  drop(data: Uint8Array): void {
    const job = this.jobs.get(data);
    if (job) job.token.cancelled = true;
    this.jobs.delete(data);
  }

  /** Stop background jobs nobody will take (e.g. a part that turned out unchanged). */
  cancel(): void {
    for (const job of this.jobs.values()) job.token.cancelled = true;
    this.jobs.clear();
  }

  private async run(data: Uint8Array, token: { cancelled: boolean }): Promise<Uint8Array> {
    const deflate = new pako.Deflate({ level: 9 });
    for (let off = 0; off < data.length || off === 0; off += SLICE) {
      if (token.cancelled) throw new Error('compression cancelled');
      const end = Math.min(data.length, off + SLICE);
      deflate.push(data.subarray(off, end), end >= data.length);
      if (deflate.err) throw new Error(`deflate failed: ${deflate.msg}`);
      if (end >= data.length) break;
      await yieldToEventLoop();
    }
    return deflate.result;
  }
}
