import { readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * `idf.py size-components` / `size-files --format json` in esp-idf-size's legacy shape, from the linker map:
 * each input section placed in a memory output section is charged to its archive (`lib<component>.a`) or object
 * file, like esp-idf-size does. Debug and discarded sections take no memory and are skipped.
 */
export type SizeEntry = Record<string, number>;

const MEMORY_SECTIONS = new Set([
  '.flash.appdesc',
  '.flash.rodata',
  '.flash.text',
  '.iram0.text',
  '.iram0.vectors',
  '.dram0.data',
  '.dram0.bss',
]);

export interface Placement {
  section: string;
  size: number;
  file: string;
}

/** Input sections of the map's memory output sections: `(output section, size, object file)`. */
export function mapPlacements(mapText: string): Placement[] {
  const start = mapText.indexOf('Linker script and memory map');
  const lines = (start >= 0 ? mapText.slice(start) : mapText).split('\n');
  const out: Placement[] = [];
  let section: string | undefined;
  let pendingInput = false;
  for (const line of lines) {
    const top = /^(\.\S+|\/DISCARD\/)(\s|$)/.exec(line);
    if (top) {
      section = MEMORY_SECTIONS.has(top[1]) ? top[1] : undefined;
      pendingInput = false;
      continue;
    }
    if (line.startsWith('OUTPUT(')) section = undefined;
    if (!section) continue;
    const whole = /^ (\.\S+)\s+0x[0-9a-fA-F]+\s+0x([0-9a-fA-F]+)\s+(\S.*)$/.exec(line);
    if (whole) {
      out.push({ section, size: parseInt(whole[2], 16), file: whole[3].trim() });
      pendingInput = false;
      continue;
    }
    if (/^ \.\S+\s*$/.test(line)) {
      pendingInput = true;
      continue;
    }
    const cont = pendingInput ? /^\s+0x[0-9a-fA-F]+\s+0x([0-9a-fA-F]+)\s+(\S.*)$/.exec(line) : null;
    if (cont) out.push({ section, size: parseInt(cont[1], 16), file: cont[2].trim() });
    pendingInput = false;
  }
  return out.filter((p) => p.size > 0);
}

/** `build/esp-idf/<comp>/CMakeFiles/__idf_<comp>.dir/x.c.obj` → `lib<comp>.a`; `/…/libgcc.a(div.o)` → `libgcc.a`. */
export function archiveOf(file: string): string {
  const member = /^(.*\.a)\(([^)]+)\)$/.exec(file);
  if (member) return path.basename(member[1]);
  const idf = /__idf_([^/]+)\.dir\//.exec(file);
  return idf ? `lib${idf[1]}.a` : path.basename(file);
}

/** Object file name as esp-idf-size prints it: `x.c.obj`, or the archive member `div.o`. */
export function objectOf(file: string): string {
  const member = /^.*\.a\(([^)]+)\)$/.exec(file);
  return member ? member[1] : path.basename(file);
}

function totals(e: SizeEntry): SizeEntry {
  let flash = 0;
  let ram = 0;
  for (const [k, v] of Object.entries(e)) {
    // Initialised data is stored in flash and copied to RAM; IRAM code likewise (esp-idf-size counts both).
    if (k.startsWith('.flash.')) flash += v;
    else if (k === '.dram0.data' || k.startsWith('.iram0.')) {
      flash += v;
      ram += v;
    } else if (k === '.dram0.bss') ram += v;
  }
  return { ...e, flash_total: flash, ram_st_total: ram };
}

/** Legacy `--archives` / `--files` JSON: `{ "<key>": { ".flash.text": n, …, flash_total, ram_st_total } }`. */
export function sizeBy(placements: Placement[], keyOf: (file: string) => string): Record<string, SizeEntry> {
  const acc = new Map<string, SizeEntry>();
  for (const p of placements) {
    const key = keyOf(p.file);
    const e = acc.get(key) ?? {};
    e[p.section] = (e[p.section] ?? 0) + p.size;
    acc.set(key, e);
  }
  const rows = [...acc.entries()].map(([k, e]) => [k, totals(e)] as const);
  rows.sort((a, b) => b[1].flash_total + b[1].ram_st_total - (a[1].flash_total + a[1].ram_st_total));
  return Object.fromEntries(rows.map(([k, e]) => [k, Object.fromEntries(Object.entries(e).sort())]));
}

export function sizeComponentsFromMap(mapFile: string): Record<string, SizeEntry> {
  return sizeBy(mapPlacements(readFileSync(mapFile, 'utf8')), archiveOf);
}

export function sizeFilesFromMap(mapFile: string): Record<string, SizeEntry> {
  return sizeBy(mapPlacements(readFileSync(mapFile, 'utf8')), objectOf);
}
