import { MAX_FRAME_BYTES } from '@aegis/protocol';
import { utf8ByteLength } from './bytes.js';
import type { ChannelLike } from './channel.js';
import { TokenBucket, type Clock, systemClock } from './token-bucket.js';

// Browser-safe (web-platform globals only): the dashboard sends through the same limiter as Node.

/** Keep this little in flight: werift gets slower with a big send buffer (see notes, Q1). */
export const HIGH_WATER_BYTES = 256 * 1024;
export const LOW_WATER_BYTES = HIGH_WATER_BYTES / 4;

export interface Limits {
  /** From the grant; 0 or undefined means unlimited. */
  maxBandwidthKbps?: number;
  maxMessageRate?: number;
}

export class ChannelClosedError extends Error {
  readonly code = 'channel_closed';
  constructor(label: string) {
    super(`The ${label} channel closed; reconnect to continue.`);
  }
}

export class FrameTooLargeError extends Error {
  readonly code = 'frame_too_large';
  constructor(size: number) {
    super(`A frame of ${size} bytes is larger than the ${MAX_FRAME_BYTES}-byte limit; send it in chunks.`);
  }
}

/** Byte and message buckets for one channel, built from the grant's limits. */
export function createLimiter(
  limits: Limits,
  clock: Clock = systemClock,
): { bytes?: TokenBucket; messages?: TokenBucket } {
  const out: { bytes?: TokenBucket; messages?: TokenBucket } = {};
  if (limits.maxBandwidthKbps && limits.maxBandwidthKbps > 0) {
    const rate = (limits.maxBandwidthKbps * 1000) / 8;
    // A 50 ms burst (at least one small frame) keeps the rate smooth without starving small messages.
    out.bytes = new TokenBucket({ ratePerSec: rate, burst: Math.max(4096, rate / 20), clock });
  }
  if (limits.maxMessageRate && limits.maxMessageRate > 0) {
    const rate = limits.maxMessageRate;
    out.messages = new TokenBucket({ ratePerSec: rate, burst: Math.max(1, Math.ceil(rate / 10)), clock });
  }
  return out;
}

/**
 * Every send on a channel goes through here: frames leave in order, wait for the token buckets (never fail for
 * going over the limit) and wait while the channel's send buffer is above the high-water mark.
 */
export class LimitedSender {
  private tail: Promise<void> = Promise.resolve();
  private readonly buckets: { bytes?: TokenBucket; messages?: TokenBucket };

  constructor(
    readonly channel: ChannelLike,
    limits: Limits = {},
    clock: Clock = systemClock,
  ) {
    this.buckets = createLimiter(limits, clock);
    channel.bufferedAmountLowThreshold = LOW_WATER_BYTES;
  }

  /** Resolves once the frame was handed to the channel. Text frames count (and are limited) in UTF-8 bytes. */
  send(data: string | Uint8Array): Promise<void> {
    const size = typeof data === 'string' ? utf8ByteLength(data) : data.byteLength;
    if (size > MAX_FRAME_BYTES) return Promise.reject(new FrameTooLargeError(size));
    const run = this.tail.then(() => this.sendNow(data, size));
    this.tail = run.catch(() => undefined);
    return run;
  }

  sendJson(value: unknown): Promise<void> {
    return this.send(JSON.stringify(value));
  }

  /** Resolves when everything queued so far has been handed to the channel. */
  flush(): Promise<void> {
    return this.tail;
  }

  private async sendNow(data: string | Uint8Array, size: number): Promise<void> {
    await this.buckets.messages?.take(1);
    await this.buckets.bytes?.take(size);
    while (this.channel.readyState === 'open' && this.channel.bufferedAmount > HIGH_WATER_BYTES) {
      await this.waitLow();
    }
    if (this.channel.readyState !== 'open') throw new ChannelClosedError(this.channel.label);
    this.channel.send(data);
  }

  private waitLow(): Promise<void> {
    return new Promise((resolve) => {
      const offLow = this.channel.onBufferedAmountLow(finish);
      const offClose = this.channel.onClose(finish);
      // A low event can race with our check; poll rarely as a safety net.
      const timer = setTimeout(finish, 250);
      function finish() {
        clearTimeout(timer);
        offLow();
        offClose();
        resolve();
      }
    });
  }
}
