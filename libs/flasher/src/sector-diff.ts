import { md5Hex } from './md5.js';

export const SECTOR_SIZE = 0x1000;
/** First split after the whole part: 64 KiB chunks (one request each, all sent as one batch). */
const CHUNK_SECTORS = 16;

export interface FlashRange {
  offset: number;
  size: number;
}

/** MD5s (lowercase hex) of flash ranges as the device computes them (SPI_FLASH_MD5), in order. */
export type DeviceMd5Batch = (ranges: FlashRange[]) => Promise<string[]>;

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
  /** 'unchanged': nothing to write; 'diff': only `ranges`; 'full': everything (nothing or little matched). */
  kind: 'unchanged' | 'diff' | 'full';
}

export interface DiffOptions {
  /** Write the whole part once this share of it differs at ≤ 64 KiB granularity (default 0.5). */
  fullWriteShare?: number;
}

type Region = [first: number, count: number];

/**
 * Find the sectors of `data` (to be written at `offset`) that differ from the flash with few MD5 round trips:
 * one request for the whole part (an unchanged part costs just that), one batch for its 64 KiB chunks, then
 * halving only the chunks that differ, each level as one batch (which the caller may pipeline). k changed
 * sectors cost about n/16 + 2k·log2(16) requests instead of n. When most chunks differ, the board holds
 * something unrelated: stop and write it all.
 */
export async function planSectorDiff(
  data: Uint8Array,
  offset: number,
  deviceMd5s: DeviceMd5Batch,
  options: DiffOptions = {},
): Promise<DiffPlan> {
  const fullShare = options.fullWriteShare ?? 0.5;
  const totalSectors = Math.ceil(data.length / SECTOR_SIZE);
  let md5Requests = 0;
  const differing = async (regions: Region[]): Promise<Region[]> => {
    if (regions.length === 0) return [];
    const ranges = regions.map(([first, n]) => {
      const start = first * SECTOR_SIZE;
      return { offset: offset + start, size: Math.min(data.length, (first + n) * SECTOR_SIZE) - start };
    });
    md5Requests += ranges.length;
    // Hash the host side while the requests are on the wire.
    const pending = deviceMd5s(ranges);
    const host = ranges.map((r) => md5Hex(data.subarray(r.offset - offset, r.offset - offset + r.size)));
    const device = await pending;
    return regions.filter((_, i) => device[i] !== host[i]);
  };
  const plan = (kind: DiffPlan['kind'], ranges: WriteRange[], changedSectors: number): DiffPlan => ({
    ranges,
    changedSectors,
    totalSectors,
    md5Requests,
    kind,
  });
  const full = () => plan('full', [{ start: 0, end: data.length }], totalSectors);
  const mostlyDifferent = (level: Region[]) =>
    level.reduce((s, [, n]) => s + n, 0) / totalSectors >= fullShare && level.every(([, n]) => n <= CHUNK_SECTORS);

  if (totalSectors === 0) return plan('unchanged', [], 0);
  let level = await differing([[0, totalSectors]]);
  if (level.length === 0) return plan('unchanged', [], 0);
  if (totalSectors > CHUNK_SECTORS) {
    const chunks: Region[] = [];
    for (let s = 0; s < totalSectors; s += CHUNK_SECTORS) chunks.push([s, Math.min(CHUNK_SECTORS, totalSectors - s)]);
    level = await differing(chunks);
    if (mostlyDifferent(level)) return full();
  }
  while (level.some(([, n]) => n > 1)) {
    const next: Region[] = [];
    const settled: Region[] = [];
    for (const [first, n] of level) {
      if (n === 1) settled.push([first, n]);
      else {
        const half = Math.ceil(n / 2);
        next.push([first, half], [first + half, n - half]);
      }
    }
    level = [...settled, ...(await differing(next))];
    if (mostlyDifferent(level)) return full();
  }
  const sectors = level.map(([first]) => first).sort((a, b) => a - b);
  if (sectors.length === totalSectors) return full();
  const ranges: WriteRange[] = [];
  for (const s of sectors) {
    const last = ranges[ranges.length - 1];
    if (last && last.end === s * SECTOR_SIZE) last.end += SECTOR_SIZE;
    else ranges.push({ start: s * SECTOR_SIZE, end: (s + 1) * SECTOR_SIZE });
  }
  for (const r of ranges) r.end = Math.min(r.end, data.length);
  return plan(sectors.length === 0 ? 'unchanged' : 'diff', ranges, sectors.length);
}
