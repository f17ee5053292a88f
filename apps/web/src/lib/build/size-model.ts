/**
 * What the size chart draws, from the machine's `size` answer (ESP-IDF's `idf.py size --format json` summary,
 * optionally with per-archive numbers). Read leniently: missing numbers become absent bars, never NaN.
 */
export interface SizeModel {
  regions: { name: string; used: number; total: number }[];
  flash: { used: number; total: number | null } | null;
  components: { name: string; flash: number; ram: number }[];
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

export function toSizeModel(raw: Record<string, unknown> | null): SizeModel | null {
  if (!raw) return null;
  const summary = (raw.summary && typeof raw.summary === 'object' ? raw.summary : raw) as Record<string, unknown>;
  const regions: SizeModel['regions'] = [];
  for (const [name, label] of [
    ['dram', 'DRAM'],
    ['iram', 'IRAM'],
    ['diram', 'D/IRAM'],
  ] as const) {
    const used = num(summary[`used_${name}`]);
    const total = num(summary[`${name}_total`]);
    if (used !== null && total) regions.push({ name: label, used, total });
  }
  const flashUsed = num(summary.total_size) ?? num(summary.used_flash_non_ram);
  const flashTotal = num(raw.app_partition_size) ?? num(summary.app_partition_size) ?? num(summary.flash_total);
  const archives = (raw.archives && typeof raw.archives === 'object' ? raw.archives : null) as Record<
    string,
    Record<string, unknown>
  > | null;
  const components = archives
    ? Object.entries(archives)
        .map(([name, a]) => ({
          name,
          flash: num(a.flash_total) ?? 0,
          ram: num(a.ram_st_total) ?? 0,
        }))
        .filter((c) => c.flash + c.ram > 0)
        .sort((a, b) => b.flash + b.ram - (a.flash + a.ram))
        .slice(0, 12)
    : [];
  if (!regions.length && flashUsed === null && !components.length) return null;
  return { regions, flash: flashUsed === null ? null : { used: flashUsed, total: flashTotal }, components };
}
