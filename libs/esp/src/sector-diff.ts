import { md5Hex, padTo } from './bytes.js';
import { EspFormatError, hex } from './errors.js';

export const SECTOR_SIZE = 0x1000;
/** First split after the whole part: 64 KiB chunks (one request each, all sent as one batch). */
export const CHUNK_SECTORS = 16;

export interface FlashRange {
  offset: number;
  size: number;
}

/**
 * MD5s (lowercase hex) of flash ranges as the device computes them (SPI_FLASH_MD5), in order. Taking a batch
 * lets the caller pipeline the requests of one level.
 */
export type DeviceMd5Batch = (ranges: FlashRange[]) => Promise<string[]>;

export interface WriteRange {
  /** Offset inside the part (sector aligned). */
  start: number;
  /** End inside the part: a sector boundary, or the part's end (the write erases the rest of that sector). */
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
  /** Write the whole part once this share of it differs at ≤ 64 KiB granularity (default 0.9: nearly all of it). */
  fullWriteShare?: number;
  /**
   * Host-side MD5 (lowercase hex) of `count` sectors from sector `first` of the part padded to whole sectors
   * with 0xFF; e.g. digests computed ahead while the board was being reset. Default: computed here.
   */
  hostMd5?: (first: number, count: number) => string;
}

type Region = [first: number, count: number];

/** The plan that writes all of a part of `length` bytes, without asking the device. */
export function fullWritePlan(length: number, md5Requests = 0): DiffPlan {
  const sectors = Math.ceil(length / SECTOR_SIZE);
  return {
    ranges: [{ start: 0, end: length }],
    changedSectors: sectors,
    totalSectors: sectors,
    md5Requests,
    kind: 'full',
  };
}

/**
 * Find the sectors of `data` (to be written at `offset`) that differ from the flash with few MD5 round trips:
 * one request for the whole part (an unchanged part costs just that), one batch for its 64 KiB chunks, then
 * halving only the chunks that differ, each level as one batch (which the caller may pipeline). k changed
 * sectors cost about n/16 + 2k·log2(16) requests instead of n. When most chunks differ, the board holds
 * something unrelated: stop and write it all.
 *
 * The last sector is compared padded with 0xFF, as a write leaves it (the erase covers whole sectors), so a
 * shorter image over a longer one rewrites its tail sector. Pure: the device is only `deviceMd5s`.
 */
export async function planSectorDiff(
  data: Uint8Array,
  offset: number,
  deviceMd5s: DeviceMd5Batch,
  options: DiffOptions = {},
): Promise<DiffPlan> {
  if (offset % SECTOR_SIZE !== 0)
    throw new EspFormatError('unaligned_part', `Part at ${hex(offset)} does not start on a 4 KiB sector.`);
  const fullShare = options.fullWriteShare ?? 0.9;
  const padded = padTo(data, SECTOR_SIZE, 0xff);
  const totalSectors = padded.length / SECTOR_SIZE;
  const hostMd5 =
    options.hostMd5 ??
    ((first: number, n: number) => md5Hex(padded.subarray(first * SECTOR_SIZE, (first + n) * SECTOR_SIZE)));
  let md5Requests = 0;
  const differing = async (regions: Region[]): Promise<Region[]> => {
    if (regions.length === 0) return [];
    const ranges = regions.map(([first, n]) => ({ offset: offset + first * SECTOR_SIZE, size: n * SECTOR_SIZE }));
    md5Requests += ranges.length;
    // Hash the host side while the requests are on the wire.
    const pending = deviceMd5s(ranges);
    const host = regions.map(([first, n]) => hostMd5(first, n));
    const device = await pending;
    return regions.filter((_, i) => device[i].toLowerCase() !== host[i]);
  };
  const plan = (kind: DiffPlan['kind'], ranges: WriteRange[], changedSectors: number): DiffPlan => ({
    ranges,
    changedSectors,
    totalSectors,
    md5Requests,
    kind,
  });
  const full = () => fullWritePlan(data.length, md5Requests);
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
