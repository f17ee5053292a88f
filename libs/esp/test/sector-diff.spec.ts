import { md5 } from '@noble/hashes/legacy.js';
import { describe, expect, it } from 'vitest';
import {
  EspFormatError,
  SECTOR_SIZE,
  md5Hex,
  planSectorWrites,
  plannedBytes,
  sectorMd5s,
  toHex,
} from '../src/index.js';
import { pattern } from './elf-builder.js';

/** A fake flash that answers SPI_FLASH_MD5 like the ROM/stub: MD5 of the bytes in [offset, offset+size). */
function fakeFlash(size: number) {
  const mem = new Uint8Array(size).fill(0xff);
  const calls: [number, number][] = [];
  return {
    mem,
    calls,
    write(offset: number, data: Uint8Array) {
      mem.set(data, offset);
    },
    md5: async (offset: number, len: number) => {
      calls.push([offset, len]);
      return toHex(md5(mem.subarray(offset, offset + len)));
    },
  };
}

describe('sectorMd5s', () => {
  it('hashes whole sectors, padding the tail with 0xFF', () => {
    const data = pattern(SECTOR_SIZE + 10, 1);
    const list = sectorMd5s(data, 0x10000);
    expect(list.map((s) => s.offset)).toEqual([0x10000, 0x11000]);
    expect(list[0].md5).toBe(md5Hex(data.subarray(0, SECTOR_SIZE)));
    const tail = new Uint8Array(SECTOR_SIZE).fill(0xff);
    tail.set(data.subarray(SECTOR_SIZE));
    expect(list[1].md5).toBe(md5Hex(tail));
  });
});

describe('planSectorWrites', () => {
  it('writes everything on an erased flash, as one coalesced run per part', async () => {
    const flash = fakeFlash(0x40000);
    const app = pattern(5 * SECTOR_SIZE + 100, 2);
    const plan = await planSectorWrites([{ offset: 0x10000, data: app }], flash.md5);
    expect(plan).toHaveLength(1);
    expect(plan[0].offset).toBe(0x10000);
    expect(plan[0].data.length).toBe(6 * SECTOR_SIZE);
    expect(plan[0].data.subarray(app.length).every((b) => b === 0xff)).toBe(true);
  });

  it('writes nothing when the device already holds the parts (one MD5 call per part)', async () => {
    const flash = fakeFlash(0x40000);
    const app = pattern(3 * SECTOR_SIZE, 3);
    flash.write(0x10000, app);
    const plan = await planSectorWrites([{ offset: 0x10000, data: app }], flash.md5);
    expect(plan).toEqual([]);
    expect(flash.calls).toEqual([[0x10000, 3 * SECTOR_SIZE]]);
  });

  it('after a small change, writes only the changed sectors, coalescing neighbours', async () => {
    const flash = fakeFlash(0x80000);
    const v1 = pattern(64 * SECTOR_SIZE, 4);
    flash.write(0x10000, v1);
    const v2 = v1.slice();
    v2[5 * SECTOR_SIZE + 7] ^= 1; // sector 5
    v2[6 * SECTOR_SIZE] ^= 1; // sector 6 (coalesces with 5)
    v2[40 * SECTOR_SIZE + 4095] ^= 1; // sector 40
    const plan = await planSectorWrites([{ offset: 0x10000, data: v2 }], flash.md5);
    expect(plan.map((w) => [w.offset, w.data.length])).toEqual([
      [0x10000 + 5 * SECTOR_SIZE, 2 * SECTOR_SIZE],
      [0x10000 + 40 * SECTOR_SIZE, SECTOR_SIZE],
    ]);
    expect(plannedBytes(plan)).toBe(3 * SECTOR_SIZE);
    for (const w of plan) flash.write(w.offset, w.data);
    expect(Buffer.from(flash.mem.subarray(0x10000, 0x10000 + v2.length)).equals(Buffer.from(v2))).toBe(true);
    expect(await planSectorWrites([{ offset: 0x10000, data: v2 }], flash.md5)).toEqual([]);
  });

  it('a shorter new image still pads its last sector with 0xFF and compares it', async () => {
    const flash = fakeFlash(0x20000);
    flash.write(0x0, pattern(2 * SECTOR_SIZE, 5));
    const v2 = pattern(2 * SECTOR_SIZE, 5).subarray(0, SECTOR_SIZE + 1);
    const plan = await planSectorWrites([{ offset: 0, data: v2 }], flash.md5);
    expect(plan.map((w) => w.offset)).toEqual([SECTOR_SIZE]);
    expect(plan[0].data[1]).toBe(0xff);
  });

  it('refuses unaligned and overlapping parts', async () => {
    const flash = fakeFlash(0x20000);
    await expect(planSectorWrites([{ offset: 0x1001, data: new Uint8Array(4) }], flash.md5)).rejects.toBeInstanceOf(
      EspFormatError,
    );
    await expect(
      planSectorWrites(
        [
          { offset: 0x1000, data: new Uint8Array(10) },
          { offset: 0x1000, data: new Uint8Array(4) },
        ],
        flash.md5,
      ),
    ).rejects.toMatchObject({ code: 'overlapping_parts' });
  });
});
