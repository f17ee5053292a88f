import { execFileSync } from 'node:child_process';
import type { TestChip } from './chips.js';

/** `idf.py size --format json` in the legacy esp-idf-size summary shape, from `<prefix>size -A` section sizes. */
export interface SizeSummary {
  dram_data: number;
  dram_bss: number;
  dram_rodata: number;
  dram_other: number;
  used_dram: number;
  dram_total: number;
  used_dram_ratio: number;
  dram_remain: number;
  iram_vectors: number;
  iram_text: number;
  iram_other: number;
  used_iram: number;
  iram_total: number;
  used_iram_ratio: number;
  iram_remain: number;
  flash_code: number;
  flash_rodata: number;
  flash_other: number;
  used_flash_non_ram: number;
  total_size: number;
}

export function sectionSizes(sizeTool: string, elf: string): Map<string, number> {
  const text = execFileSync(sizeTool, ['-A', '-d', elf], { encoding: 'utf8' });
  const m = new Map<string, number>();
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length === 3 && f[0].startsWith('.') && /^\d+$/.test(f[1])) m.set(f[0], Number(f[1]));
  }
  return m;
}

export function sizeSummary(sizeTool: string, elf: string, chip: TestChip): SizeSummary {
  const s = sectionSizes(sizeTool, elf);
  const g = (n: string): number => s.get(n) ?? 0;
  const dramData = g('.dram0.data');
  const dramBss = g('.dram0.bss');
  const iramText = g('.iram0.text');
  const flashRodata = g('.flash.rodata') + g('.flash.appdesc');
  const usedDram = dramData + dramBss;
  const ratio = (a: number, b: number): number => (b ? a / b : 0);
  return {
    dram_data: dramData,
    dram_bss: dramBss,
    dram_rodata: 0,
    dram_other: 0,
    used_dram: usedDram,
    dram_total: chip.app.dramLen,
    used_dram_ratio: ratio(usedDram, chip.app.dramLen),
    dram_remain: chip.app.dramLen - usedDram,
    iram_vectors: 0,
    iram_text: iramText,
    iram_other: 0,
    used_iram: iramText,
    iram_total: chip.app.iramLen,
    used_iram_ratio: ratio(iramText, chip.app.iramLen),
    iram_remain: chip.app.iramLen - iramText,
    flash_code: 0,
    flash_rodata: flashRodata,
    flash_other: 0,
    used_flash_non_ram: flashRodata,
    total_size: dramData + iramText + flashRodata,
  };
}
