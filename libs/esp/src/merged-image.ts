import type { FlashSize } from '@aegis/protocol';
import { flashSizeBytes } from './chips.js';
import { EspFormatError, hex } from './errors.js';

export interface MergePart {
  offset: number;
  data: Uint8Array;
  name?: string;
}

export interface MergeOptions {
  /** Gap filler; erased flash reads 0xFF. */
  fill?: number;
  /** Bytes or a size like '4MB': refuse parts beyond it and pad the image to it (esptool merge_bin --fill-flash-size). */
  flashSize?: number | Exclude<FlashSize, 'detect' | 'keep'>;
}

/** One flash image from parts at offsets, starting at address 0 (esptool merge_bin). Refuses overlaps. */
export function mergeParts(parts: readonly MergePart[], opts: MergeOptions = {}): Uint8Array {
  const fill = opts.fill ?? 0xff;
  const limit = typeof opts.flashSize === 'string' ? flashSizeBytes(opts.flashSize) : opts.flashSize;
  const sorted = [...parts].sort((a, b) => a.offset - b.offset);
  const label = (p: MergePart) => p.name ?? `part at ${hex(p.offset)}`;
  for (const p of sorted) {
    if (!Number.isInteger(p.offset) || p.offset < 0)
      throw new EspFormatError('bad_argument', `${label(p)} has an invalid offset ${p.offset}.`);
    if (limit !== undefined && p.offset + p.data.length > limit)
      throw new EspFormatError(
        'part_beyond_flash',
        `${label(p)} ends at ${hex(p.offset + p.data.length)}, beyond the ${hex(limit)}-byte flash.`,
      );
  }
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1];
    if (sorted[i].offset < prev.offset + prev.data.length)
      throw new EspFormatError(
        'overlapping_parts',
        `${label(sorted[i])} (${hex(sorted[i].offset)}) overlaps ${label(prev)} (${hex(prev.offset)}..${hex(prev.offset + prev.data.length)}).`,
      );
  }
  const end = sorted.length ? sorted[sorted.length - 1].offset + sorted[sorted.length - 1].data.length : 0;
  const out = new Uint8Array(limit ?? end).fill(fill);
  for (const p of sorted) out.set(p.data, p.offset);
  return out;
}
