import { md5Hex } from './bytes.js';
import { EspFormatError, hex } from './errors.js';

export const SECTOR_SIZE = 4096;

export interface SectorMd5 {
  offset: number;
  md5: string;
}

/** A flash range to write: whole sectors, the last one padded with 0xFF as esptool pads a part's tail. */
export interface SectorWrite {
  offset: number;
  data: Uint8Array;
}

function padToSectors(data: Uint8Array): Uint8Array {
  const rem = data.length % SECTOR_SIZE;
  if (rem === 0) return data;
  const out = new Uint8Array(data.length + SECTOR_SIZE - rem).fill(0xff);
  out.set(data);
  return out;
}

/** MD5 of each 4 KiB sector of `data` placed at `baseOffset` (the last partial sector padded with 0xFF). */
export function sectorMd5s(data: Uint8Array, baseOffset: number): SectorMd5[] {
  const padded = padToSectors(data);
  const out: SectorMd5[] = [];
  for (let o = 0; o < padded.length; o += SECTOR_SIZE)
    out.push({ offset: baseOffset + o, md5: md5Hex(padded.subarray(o, o + SECTOR_SIZE)) });
  return out;
}

/**
 * Which sectors must be written so flash holds `parts`: asks the device for the MD5 of each part (one call when it
 * is unchanged) and then of each sector, and coalesces runs of changed sectors into single writes.
 * `deviceMd5(offset, size)` is the device's SPI_FLASH_MD5 as lowercase hex.
 */
export async function planSectorWrites(
  parts: readonly { offset: number; data: Uint8Array }[],
  deviceMd5: (offset: number, size: number) => Promise<string>,
): Promise<SectorWrite[]> {
  const sorted = [...parts].sort((a, b) => a.offset - b.offset);
  for (let i = 0; i < sorted.length; i++) {
    const p = sorted[i];
    if (p.offset % SECTOR_SIZE !== 0)
      throw new EspFormatError('unaligned_part', `Part at ${hex(p.offset)} does not start on a 4 KiB sector.`);
    const end = p.offset + padToSectors(p.data).length;
    if (i + 1 < sorted.length && sorted[i + 1].offset < end)
      throw new EspFormatError(
        'overlapping_parts',
        `Parts at ${hex(p.offset)} and ${hex(sorted[i + 1].offset)} share a sector.`,
      );
  }
  const writes: SectorWrite[] = [];
  for (const part of sorted) {
    const padded = padToSectors(part.data);
    if ((await deviceMd5(part.offset, padded.length)).toLowerCase() === md5Hex(padded)) continue;
    let runStart = -1;
    const flush = (endRel: number) => {
      if (runStart >= 0) writes.push({ offset: part.offset + runStart, data: padded.subarray(runStart, endRel) });
      runStart = -1;
    };
    for (let o = 0; o < padded.length; o += SECTOR_SIZE) {
      const want = md5Hex(padded.subarray(o, o + SECTOR_SIZE));
      const have = (await deviceMd5(part.offset + o, SECTOR_SIZE)).toLowerCase();
      if (want !== have) {
        if (runStart < 0) runStart = o;
      } else flush(o);
    }
    flush(padded.length);
  }
  return writes;
}

/** Total bytes a plan writes. */
export function plannedBytes(writes: readonly SectorWrite[]): number {
  return writes.reduce((n, w) => n + w.data.length, 0);
}
