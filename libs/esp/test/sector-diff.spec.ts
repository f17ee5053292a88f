import { describe, expect, it } from 'vitest';
import { EspFormatError, SECTOR_SIZE, md5Hex, planSectorDiff, type FlashRange } from '../src/index.js';
import { pattern } from './elf-builder.js';

/**
 * A device whose flash is `mem`: answers SPI_FLASH_MD5 like the ROM/stub (MD5 of [offset, offset+size)) and
 * counts requests and batches (round-trip levels). `write` erases whole sectors first, as a flash write does.
 */
function fakeDevice(size: number) {
  const mem = new Uint8Array(size).fill(0xff);
  const calls: [number, number][] = [];
  const stats = { requests: 0, batches: 0 };
  return {
    mem,
    calls,
    stats,
    write(offset: number, data: Uint8Array) {
      const end = Math.ceil((offset + data.length) / SECTOR_SIZE) * SECTOR_SIZE;
      mem.fill(0xff, offset - (offset % SECTOR_SIZE), end);
      mem.set(data, offset);
    },
    md5s: async (ranges: FlashRange[]) => {
      stats.batches++;
      stats.requests += ranges.length;
      for (const r of ranges) calls.push([r.offset, r.size]);
      return ranges.map((r) => md5Hex(mem.subarray(r.offset, r.offset + r.size)));
    },
  };
}

/** Half of these small parts differ, which by default is written whole: ask for the exact sectors. */
const exact = { fullWriteShare: 1 };

const image = (n: number, seed: number) => new Uint8Array(n).map((_, i) => (i * 31 + seed * (i >> 12)) & 0xff);

describe('planSectorDiff', () => {
  it('compares whole sectors, the tail padded with 0xFF as a write leaves it', async () => {
    const dev = fakeDevice(0x40000);
    const data = pattern(SECTOR_SIZE + 10, 1);
    dev.write(0x10000, data);
    expect(await planSectorDiff(data, 0x10000, dev.md5s)).toMatchObject({ kind: 'unchanged', md5Requests: 1 });
    expect(dev.calls).toEqual([[0x10000, 2 * SECTOR_SIZE]]);
    dev.mem[0x10000 + SECTOR_SIZE + 10] = 0; // only the padding differs
    const plan = await planSectorDiff(data, 0x10000, dev.md5s, exact);
    expect(plan.ranges).toEqual([{ start: SECTOR_SIZE, end: SECTOR_SIZE + 10 }]);
  });

  it('writes everything on an erased flash, as one range per part', async () => {
    const dev = fakeDevice(0x40000);
    const app = pattern(5 * SECTOR_SIZE + 100, 2);
    const plan = await planSectorDiff(app, 0x10000, dev.md5s);
    expect(plan).toMatchObject({ kind: 'full', ranges: [{ start: 0, end: app.length }], changedSectors: 6 });
  });

  it('writes nothing when the device already holds the part (one MD5 request)', async () => {
    const dev = fakeDevice(0x40000);
    const app = pattern(3 * SECTOR_SIZE, 3);
    dev.write(0x10000, app);
    const plan = await planSectorDiff(app, 0x10000, dev.md5s);
    expect(plan).toMatchObject({ kind: 'unchanged', ranges: [], md5Requests: 1 });
    expect(dev.calls).toEqual([[0x10000, 3 * SECTOR_SIZE]]);
  });

  it('after a small change, writes only the changed sectors, coalescing neighbours', async () => {
    const dev = fakeDevice(0x80000);
    const v1 = pattern(64 * SECTOR_SIZE, 4);
    dev.write(0x10000, v1);
    const v2 = v1.slice();
    v2[5 * SECTOR_SIZE + 7] ^= 1; // sector 5
    v2[6 * SECTOR_SIZE] ^= 1; // sector 6 (coalesces with 5)
    v2[40 * SECTOR_SIZE + 4095] ^= 1; // sector 40
    const plan = await planSectorDiff(v2, 0x10000, dev.md5s, exact);
    expect(plan.ranges).toEqual([
      { start: 5 * SECTOR_SIZE, end: 7 * SECTOR_SIZE },
      { start: 40 * SECTOR_SIZE, end: 41 * SECTOR_SIZE },
    ]);
    expect(plan.changedSectors).toBe(3);
    for (const r of plan.ranges) dev.write(0x10000 + r.start, v2.subarray(r.start, r.end));
    expect(Buffer.from(dev.mem.subarray(0x10000, 0x10000 + v2.length)).equals(Buffer.from(v2))).toBe(true);
    expect(await planSectorDiff(v2, 0x10000, dev.md5s)).toMatchObject({ kind: 'unchanged', ranges: [] });
  });

  it('a shorter new image rewrites its last sector so the old tail becomes 0xFF', async () => {
    const dev = fakeDevice(0x20000);
    dev.write(0x0, pattern(2 * SECTOR_SIZE, 5));
    const v2 = pattern(2 * SECTOR_SIZE, 5).subarray(0, SECTOR_SIZE + 1);
    const plan = await planSectorDiff(v2, 0, dev.md5s, exact);
    expect(plan.ranges).toEqual([{ start: SECTOR_SIZE, end: SECTOR_SIZE + 1 }]);
    for (const r of plan.ranges) dev.write(r.start, v2.subarray(r.start, r.end));
    expect(dev.mem[SECTOR_SIZE + 1]).toBe(0xff);
    expect(await planSectorDiff(v2, 0, dev.md5s)).toMatchObject({ kind: 'unchanged' });
  });

  it('refuses a part that does not start on a sector, before asking the device', async () => {
    const dev = fakeDevice(0x20000);
    const refused = planSectorDiff(new Uint8Array(4), 0x1001, dev.md5s);
    await expect(refused).rejects.toBeInstanceOf(EspFormatError);
    await expect(refused).rejects.toMatchObject({ code: 'unaligned_part' });
    expect(dev.stats.requests).toBe(0);
    // Overlapping parts are a bundle property: the flasher's checkBundle refuses them (libs/flasher flash.spec).
  });

  describe('on a 1 MiB app', () => {
    const PART = 0x10000;
    const SIZE = 1024 * 1024 - 100; // a partial last sector

    it('an unchanged part costs one request', async () => {
      const app = image(SIZE, 1);
      const dev = fakeDevice(0x200000);
      dev.write(PART, app);
      const plan = await planSectorDiff(app, PART, dev.md5s);
      expect(plan).toMatchObject({ kind: 'unchanged', ranges: [], md5Requests: 1 });
    });

    it('finds exactly the changed sectors, merges neighbours, with far fewer requests than one per sector', async () => {
      const old = image(SIZE, 1);
      const next = old.slice();
      next[10] ^= 1; // sector 0
      next[0x40000 + 5] ^= 1; // sector 64
      next[0x41000 + 5] ^= 1; // sector 65 (adjacent → one range)
      next[SIZE - 1] ^= 1; // the partial last sector
      const dev = fakeDevice(0x200000);
      dev.write(PART, old);
      const plan = await planSectorDiff(next, PART, dev.md5s);
      expect(plan.kind).toBe('diff');
      expect(plan.ranges).toEqual([
        { start: 0, end: 0x1000 },
        { start: 0x40000, end: 0x42000 },
        { start: 0xff000, end: SIZE },
      ]);
      expect(plan.changedSectors).toBe(4);
      // Batches are levels: whole part, 64 KiB chunks, then 4 halvings.
      expect(dev.stats.batches).toBe(6);
      // Asking for the whole part and then every sector (the planner this one replaced) would cost 257.
      expect(1 + plan.totalSectors).toBe(257);
      expect(plan.md5Requests).toBeLessThan(60);
      expect(plan.md5Requests).toBe(dev.stats.requests);
    });

    it('an unrelated board gets a full write after two batches', async () => {
      const dev = fakeDevice(0x200000);
      dev.write(PART, image(SIZE, 2));
      const plan = await planSectorDiff(image(SIZE, 1), PART, dev.md5s);
      expect(plan).toMatchObject({ kind: 'full', ranges: [{ start: 0, end: SIZE }] });
      expect(dev.stats.batches).toBe(2);
      expect(plan.md5Requests).toBe(17);
    });

    it('small parts skip the chunk level', async () => {
      const table = image(0xc00, 3);
      const dev = fakeDevice(0x10000);
      const plan = await planSectorDiff(table, 0x8000, dev.md5s);
      expect(plan).toMatchObject({ kind: 'full', changedSectors: 1, md5Requests: 1 });
    });
  });
});
