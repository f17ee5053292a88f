import { describe, expect, it } from 'vitest';
import { TokenBucket } from '../src/token-bucket.js';
import { LimitedSender, HIGH_WATER_BYTES } from '../src/limited-sender.js';
import { channelPair, virtualClock } from './fake-channel.js';

describe('TokenBucket', () => {
  it('holds the long-run rate, including frames larger than the burst', async () => {
    const clock = virtualClock();
    const b = new TokenBucket({ ratePerSec: 100_000, burst: 5000, initial: 0, clock });
    for (let i = 0; i < 20; i++) await b.take(16_384);
    // 20 × 16 KiB at 100 kB/s: the last take waits for the bucket to refill from debt.
    const expectedMs = ((19 * 16_384 + 5000) / 100_000) * 1000;
    expect(clock.elapsed / expectedMs).toBeGreaterThan(0.97);
    expect(clock.elapsed / expectedMs).toBeLessThan(1.03);
  });

  it('serves takers in order', async () => {
    const clock = virtualClock();
    const b = new TokenBucket({ ratePerSec: 10, burst: 1, initial: 0, clock });
    const order: number[] = [];
    await Promise.all([1, 2, 3].map((i) => b.take(1).then(() => order.push(i))));
    expect(order).toEqual([1, 2, 3]);
  });

  it('rejects a zero rate', () => {
    expect(() => new TokenBucket({ ratePerSec: 0, burst: 1 })).toThrow(RangeError);
  });
});

describe('LimitedSender', () => {
  it('limits message rate and bandwidth without dropping anything', async () => {
    const clock = virtualClock();
    const [a, b] = channelPair();
    const got: Buffer[] = [];
    b.onMessage((d) => got.push(d as Buffer));
    const s = new LimitedSender(a, { maxBandwidthKbps: 800, maxMessageRate: 1000 }, clock);
    const total = 200 * 1024;
    for (let off = 0; off < total; off += 8192) void s.send(Buffer.alloc(8192, off / 8192));
    await s.flush();
    await new Promise((r) => setImmediate(r));
    expect(Buffer.concat(got).length).toBe(total);
    const expectedMs = (total / 100_000) * 1000;
    expect(clock.elapsed / expectedMs).toBeGreaterThan(0.85);
    expect(clock.elapsed / expectedMs).toBeLessThan(1.15);
    expect(got.map((x) => x[0])).toEqual(Array.from({ length: 25 }, (_, i) => i));
  });

  it('waits for the low-water event while the buffer is full', async () => {
    const [a] = channelPair();
    a.bufferedAmount = HIGH_WATER_BYTES + 1;
    const s = new LimitedSender(a);
    let sent = false;
    const p = s.send('x').then(() => (sent = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(sent).toBe(false);
    a.bufferedAmount = 0;
    a.emitLow();
    await p;
    expect(a.sent).toEqual(['x']);
  });

  it('refuses oversize frames and fails sends on a closed channel', async () => {
    const [a] = channelPair();
    const s = new LimitedSender(a);
    await expect(s.send(Buffer.alloc(70_000))).rejects.toMatchObject({ code: 'frame_too_large' });
    a.close();
    await expect(s.send('x')).rejects.toMatchObject({ code: 'channel_closed' });
  });
});
