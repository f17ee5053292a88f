import type { SizeReport } from '@aegis/protocol';
import { parseSizeReport } from '@aegis/esp';

/** What the size chart draws: the machine's `size` answer normalised by libs/esp (any idf.py size format). */
export interface SizeModel {
  bars: { name: string; used: number; total: number | null }[];
  components: { name: string; flash: number; ram: number }[];
}

/** `appPartitionSize` (from the partition table) gives the app's flash a total when the report has none. */
export function toSizeModel(raw: unknown, appPartitionSize: number | null = null): SizeModel | null {
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
  const components = [...(r.components ?? [])]
    .filter((c) => c.flash + c.ram > 0)
    .sort((a, b) => b.flash + b.ram - (a.flash + a.ram))
    .slice(0, 12);
  return { bars, components };
}
