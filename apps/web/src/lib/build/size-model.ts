import type { SizeComponent, SizeReport } from '@aegis/protocol';
import { parseSizeComponents, parseSizeReport } from '@aegis/esp';

/** What the size chart draws: the machine's `size` answer normalised by libs/esp (any idf.py size format). */
export interface SizeModel {
  bars: { name: string; used: number; total: number | null }[];
  components: { name: string; flash: number; ram: number }[];
}

/** How many components the chart lists by name; the rest are summed into one "other" row. */
export const TOP_COMPONENTS = 10;

/** Largest first (flash + RAM), the top `top` by name and the rest summed as "other". */
export function topComponents(rows: SizeComponent[], top = TOP_COMPONENTS): SizeModel['components'] {
  const sorted = rows
    .filter((c) => c.flash + c.ram > 0)
    .sort((a, b) => b.flash + b.ram - (a.flash + a.ram) || a.name.localeCompare(b.name));
  if (sorted.length <= top + 1) return sorted.map(({ name, flash, ram }) => ({ name, flash, ram }));
  const rest = sorted.slice(top);
  return [
    ...sorted.slice(0, top).map(({ name, flash, ram }) => ({ name, flash, ram })),
    {
      name: `other (${rest.length})`,
      flash: rest.reduce((n, c) => n + c.flash, 0),
      ram: rest.reduce((n, c) => n + c.ram, 0),
    },
  ];
}

/** The per-archive rows of a `size {detail: 'components'}` answer, or none when it is missing or unreadable. */
function componentsOf(raw: unknown): SizeComponent[] | undefined {
  if (!raw) return undefined;
  try {
    return parseSizeComponents(raw);
  } catch {
    return undefined;
  }
}

/**
 * `appPartitionSize` (from the partition table) gives the app's flash a total when the report has none;
 * `componentsRaw` is the machine's `size {detail: 'components'}` answer (an unreadable one only drops the rows).
 */
export function toSizeModel(
  raw: unknown,
  appPartitionSize: number | null = null,
  componentsRaw: unknown = null,
): SizeModel | null {
  if (!raw) return null;
  let r: SizeReport;
  try {
    const obj = raw as Record<string, unknown>;
    // Accept the report itself or `{summary, archives}` (summary for the bars, archives for components).
    if (obj.summary && typeof obj.summary === 'object') {
      r = parseSizeReport(obj.summary);
      if (obj.archives && typeof obj.archives === 'object') {
        const a = parseSizeReport(obj.archives);
        r = { ...r, components: a.components };
      }
    } else r = parseSizeReport(raw);
  } catch {
    return null;
  }
  const bars: SizeModel['bars'] = [
    { name: 'Flash (app partition)', used: r.image_size ?? r.flash.used, total: r.flash.total ?? appPartitionSize },
    ...(r.ram.used > 0 ? [{ name: 'RAM', used: r.ram.used, total: r.ram.total ?? null }] : []),
    ...r.regions.map((g) => ({ name: g.name, used: g.used, total: g.total ?? null })),
  ];
  const components = topComponents(componentsOf(componentsRaw) ?? r.components ?? []);
  return { bars, components };
}
