import { md5Hex } from './md5.js';

export const SECTOR_SIZE = 0x1000;

/** MD5 (lowercase hex) of a flash range as the device computes it (SPI_FLASH_MD5). */
export type DeviceMd5 = (offset: number, size: number) => Promise<string>;

export interface WriteRange {
  /** Offset inside the part (sector aligned). */
  start: number;
  end: number;
}

export interface DiffPlan {
  ranges: WriteRange[];
  /** Sectors of the part that will be written. */
  changedSectors: number;
  totalSectors: number;
  /** SPI_FLASH_MD5 requests spent deciding. */
  md5Requests: number;
  /** 'unchanged': nothing to write; 'diff': only `ranges`; 'full': the board holds something unrelated. */
  kind: 'unchanged' | 'diff' | 'full';
}

export interface DiffOptions {
  /** Give up on diffing (write everything) when this share of the part differs at ≤ 64 KiB granularity. */
  fullWriteShare?: number;
}

/**
 * Find the sectors of `data` (to be written at `offset`) that differ from the flash, with as few MD5
 * round trips as possible: one for the whole part, then halving only the regions that differ (k changed
 * sectors of n cost about 2k·log2(n/k) requests instead of n). When most of the part differs, stop early and
 * write it all: the board holds something unrelated, and the remaining bisection would only cost time.
 */
export async function planSectorDiff(
  data: Uint8Array,
  offset: number,
  deviceMd5: DeviceMd5,
  options: DiffOptions = {},
): Promise<DiffPlan> {
  const fullShare = options.fullWriteShare ?? 0.5;
  const totalSectors = Math.ceil(data.length / SECTOR_SIZE);
  let md5Requests = 0;
  const differs = async (first: number, count: number): Promise<boolean> => {
    const start = first * SECTOR_SIZE;
    const end = Math.min(data.length, (first + count) * SECTOR_SIZE);
    md5Requests++;
    const device = await deviceMd5(offset + start, end - start);
    return device !== md5Hex(data.subarray(start, end));
  };
  const full = (): DiffPlan => ({
    ranges: [{ start: 0, end: data.length }],
    changedSectors: totalSectors,
    totalSectors,
    md5Requests,
    kind: 'full',
  });

  if (totalSectors === 0 || !(await differs(0, totalSectors))) {
    return { ranges: [], changedSectors: 0, totalSectors, md5Requests, kind: 'unchanged' };
  }
  // Breadth-first halving: every level keeps only the regions whose MD5 differs.
  let level: [number, number][] = [[0, totalSectors]];
  while (level.some(([, n]) => n > 1)) {
    const next: [number, number][] = [];
    for (const [first, n] of level) {
      if (n === 1) {
        next.push([first, n]);
        continue;
      }
      const half = Math.ceil(n / 2);
      if (await differs(first, half)) next.push([first, half]);
      if (await differs(first + half, n - half)) next.push([first + half, n - half]);
    }
    level = next;
    const regionSectors = Math.max(...level.map(([, n]) => n));
    const differing = level.reduce((s, [, n]) => s + n, 0);
    if (regionSectors <= 16 && differing / totalSectors >= fullShare) return full();
  }
  const sectors = level.map(([first]) => first).sort((a, b) => a - b);
  const ranges: WriteRange[] = [];
  for (const s of sectors) {
    const last = ranges[ranges.length - 1];
    if (last && last.end === s * SECTOR_SIZE) last.end += SECTOR_SIZE;
    else ranges.push({ start: s * SECTOR_SIZE, end: (s + 1) * SECTOR_SIZE });
  }
  for (const r of ranges) r.end = Math.min(r.end, data.length);
  const kind = sectors.length === totalSectors ? 'full' : 'diff';
  return { ranges, changedSectors: sectors.length, totalSectors, md5Requests, kind };
}
