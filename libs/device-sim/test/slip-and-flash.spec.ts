import { describe, expect, it } from 'vitest';
import { FlashMemory, SECTOR_SIZE, SlipDecoder, slipEncode } from '@aegis/device-sim';

describe('SLIP', () => {
  it('escapes END and ESC and decodes across chunk boundaries', () => {
    const packet = new Uint8Array([1, 0xc0, 2, 0xdb, 3, 0xc0, 0xdb]);
    const wire = slipEncode(packet);
    expect(Array.from(wire)).toEqual([0xc0, 1, 0xdb, 0xdc, 2, 0xdb, 0xdd, 3, 0xdb, 0xdc, 0xdb, 0xdd, 0xc0]);
    const d = new SlipDecoder();
    const frames = [...d.push(wire.subarray(0, 4)), ...d.push(wire.subarray(4))];
    expect(frames).toEqual([packet]);
  });

  it('skips noise outside frames and drops a frame with a bad escape', () => {
    const d = new SlipDecoder();
    const bad = new Uint8Array([0xc0, 1, 0xdb, 0x00, 2, 0xc0]);
    const good = slipEncode(new Uint8Array([9, 9]));
    const frames = d.push(new Uint8Array([0x41, 0x42, ...bad, ...good]));
    expect(frames).toEqual([new Uint8Array([9, 9])]);
    // Bytes between two frames form a junk frame, which the loader's request parser then rejects.
    expect(d.push(new Uint8Array([0x43, 0xc0]))).toEqual([new Uint8Array([0x43])]);
  });
});

describe('FlashMemory', () => {
  it('erases whole sectors to 0xFF and programs by clearing bits only', () => {
    const f = new FlashMemory(16 * SECTOR_SIZE);
    f.program(100, new Uint8Array([0x0f, 0xf0]));
    expect(Array.from(f.read(100, 2))).toEqual([0x0f, 0xf0]);
    // Writing again without an erase ANDs: a real NOR flash cannot set bits back to 1.
    f.program(100, new Uint8Array([0xf0, 0xff]));
    expect(Array.from(f.read(100, 2))).toEqual([0x00, 0xf0]);
    f.eraseRange(50, 10);
    expect(f.read(0, SECTOR_SIZE).every((b) => b === 0xff)).toBe(true);
    expect(f.stats.erases).toBe(1);
    expect([...f.stats.writtenSectors]).toEqual([0]);
  });

  it('counts every sector a range touches and rejects ranges outside the chip', () => {
    const f = new FlashMemory(16 * SECTOR_SIZE);
    f.eraseRange(SECTOR_SIZE - 1, 2);
    expect(f.stats.erases).toBe(2);
    f.program(SECTOR_SIZE * 3 - 2, new Uint8Array(4));
    expect([...f.stats.writtenSectors].sort()).toEqual([2, 3]);
    expect(() => f.program(16 * SECTOR_SIZE - 1, new Uint8Array(2))).toThrow(/outside/);
    f.resetStats();
    expect(f.stats.writtenSectors.size).toBe(0);
  });
});
