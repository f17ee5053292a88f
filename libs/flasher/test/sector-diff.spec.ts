import { describe, expect, it } from 'vitest';
import { planSectorWrites } from '@aegis/esp';
import { md5Hex, planSectorDiff, type FlashRange } from '@aegis/flasher';

/** A device whose flash is `flash`; counts requests like SPI_FLASH_MD5 round trips. */
function fakeDevice(flash: Uint8Array) {
  const stats = { requests: 0, batches: 0 };
  const batch = async (ranges: FlashRange[]) => {
    stats.batches++;
    stats.requests += ranges.length;
    return ranges.map((r) => md5Hex(flash.subarray(r.offset, r.offset + r.size)));
  };
  const single = async (offset: number, size: number) => (await batch([{ offset, size }]))[0];
  return { stats, batch, single };
}

const image = (n: number, seed: number) => new Uint8Array(n).map((_, i) => (i * 31 + seed * (i >> 12)) & 0xff);

describe('planSectorDiff', () => {
  const PART = 0x10000;
  const SIZE = 1024 * 1024 - 100; // a partial last sector

  it('an unchanged part costs one request', async () => {
    const app = image(SIZE, 1);
    const flash = new Uint8Array(0x200000).fill(0xff);
    flash.set(app, PART);
    const dev = fakeDevice(flash);
    const plan = await planSectorDiff(app, PART, dev.batch);
    expect(plan).toMatchObject({ kind: 'unchanged', ranges: [], md5Requests: 1 });
  });

  it('finds exactly the changed sectors, merges neighbours, with far fewer requests than one per sector', async () => {
    const old = image(SIZE, 1);
    const next = old.slice();
    next[10] ^= 1; // sector 0
    next[0x40000 + 5] ^= 1; // sector 64
    next[0x41000 + 5] ^= 1; // sector 65 (adjacent → one range)
    next[SIZE - 1] ^= 1; // the partial last sector
    const flash = new Uint8Array(0x200000).fill(0xff);
    flash.set(old, PART);
    const dev = fakeDevice(flash);
    const plan = await planSectorDiff(next, PART, dev.batch);
    expect(plan.kind).toBe('diff');
    expect(plan.ranges).toEqual([
      { start: 0, end: 0x1000 },
      { start: 0x40000, end: 0x42000 },
      { start: 0xff000, end: SIZE },
    ]);
    expect(plan.changedSectors).toBe(4);
    // Batches are levels: whole part, 64 KiB chunks, then 4 halvings.
    expect(dev.stats.batches).toBe(6);
    // libs/esp's planSectorWrites asks for every sector of a changed part: compare round trips.
    const linear = fakeDevice(flash);
    const writes = await planSectorWrites([{ offset: PART, data: next }], linear.single);
    expect(writes.map((w) => w.offset - PART)).toEqual([0, 0x40000, 0xff000]);
    expect(linear.stats.requests).toBe(257);
    expect(plan.md5Requests).toBeLessThan(60);
    expect(plan.md5Requests).toBe(dev.stats.requests);
  });

  it('an unrelated board gets a full write after two batches', async () => {
    const flash = new Uint8Array(0x200000).fill(0xff);
    flash.set(image(SIZE, 2), PART);
    const dev = fakeDevice(flash);
    const plan = await planSectorDiff(image(SIZE, 1), PART, dev.batch);
    expect(plan).toMatchObject({ kind: 'full', ranges: [{ start: 0, end: SIZE }] });
    expect(dev.stats.batches).toBe(2);
    expect(plan.md5Requests).toBe(17);
  });

  it('small parts skip the chunk level', async () => {
    const table = image(0xc00, 3);
    const flash = new Uint8Array(0x10000).fill(0xff);
    const dev = fakeDevice(flash);
    const plan = await planSectorDiff(table, 0x8000, dev.batch);
    expect(plan).toMatchObject({ kind: 'full', changedSectors: 1, md5Requests: 1 });
  });
});
