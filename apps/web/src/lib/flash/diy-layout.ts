import type { FlashBundleInput } from '@aegis/flasher';
import { SECTOR_SIZE } from '@aegis/esp';
import type { FlashBundleManifest, Target } from '@aegis/protocol';

/** One row of DIY mode: a .bin file the user picked and the offset they typed (hex). */
export interface DiyFile {
  name: string;
  offsetText: string;
  data: Uint8Array;
}

export interface DiyPart {
  name: string;
  offset: number;
  data: Uint8Array;
}

const hex = (n: number) => `0x${n.toString(16)}`;
/** The flash bundle manifest allows this many parts. */
export const DIY_MAX_FILES = 32;

/** "0x10000", "10000" and "0X1_0000" are all 0x10000 (offsets are hex, as in esptool and ESP Launchpad). */
export function parseHexOffset(text: string): number | null {
  const t = text.trim().replace(/_/g, '').replace(/^0x/i, '');
  if (!/^[0-9a-f]{1,8}$/i.test(t)) return null;
  return parseInt(t, 16);
}

/**
 * Checks the files against each other and the board: every offset hex and on a 4 KiB sector (writing elsewhere
 * would erase the neighbouring data of that sector), no empty file, no two files overlapping, nothing beyond the
 * flash (when the board's size is known). Returns every problem at once, each naming its file.
 */
export function checkDiyLayout(
  files: readonly DiyFile[],
  flashSize: number | null,
): { ok: true; parts: DiyPart[] } | { ok: false; problems: string[] } {
  const problems: string[] = [];
  if (files.length === 0) problems.push('Add at least one .bin file.');
  if (files.length > DIY_MAX_FILES) problems.push(`At most ${DIY_MAX_FILES} files can be flashed at once.`);
  const parts: DiyPart[] = [];
  for (const f of files) {
    const offset = parseHexOffset(f.offsetText);
    if (offset === null) {
      problems.push(`${f.name}: “${f.offsetText}” is not a hex offset; write it like 0x10000.`);
      continue;
    }
    if (offset % SECTOR_SIZE !== 0) {
      const down = offset - (offset % SECTOR_SIZE);
      problems.push(
        `${f.name}: ${hex(offset)} is not on a 4 KiB sector boundary (0x1000); use ${hex(down)} or ${hex(down + SECTOR_SIZE)}.`,
      );
      continue;
    }
    if (f.data.length === 0) {
      problems.push(`${f.name} is empty.`);
      continue;
    }
    if (flashSize !== null && offset + f.data.length > flashSize)
      problems.push(
        `${f.name} ends at ${hex(offset + f.data.length)}, beyond this board's ${flashSize / 1048576} MB flash (${hex(flashSize)}).`,
      );
    parts.push({ name: f.name, offset, data: f.data });
  }
  const sorted = [...parts].sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1];
    const cur = sorted[i];
    if (cur.offset < prev.offset + prev.data.length)
      problems.push(
        `${prev.name} (${hex(prev.offset)}–${hex(prev.offset + prev.data.length)}) and ${cur.name} (at ${hex(cur.offset)}) overlap; move one of them.`,
      );
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, parts };
}

async function sha256Hex(data: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest('SHA-256', data as Uint8Array<ArrayBuffer>));
  return Array.from(d, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * The files as an (unsigned) flash bundle for the detected chip, so they go through the same flasher as a build:
 * sha256-checked, sector-diffed, MD5-verified. Part names are the file names, made unique.
 */
export async function diyBundle(parts: readonly DiyPart[], chip: Target): Promise<FlashBundleInput> {
  const files = new Map<string, Uint8Array>();
  const seen = new Set<string>();
  const manifestParts: FlashBundleManifest['parts'] = [];
  for (const [i, p] of parts.entries()) {
    let name = p.name.slice(0, 56) || `file-${i + 1}`;
    if (seen.has(name)) name = `${name} #${i + 1}`;
    seen.add(name);
    const file = `files/${i}.bin`;
    files.set(file, p.data);
    manifestParts.push({ name, offset: p.offset, size: p.data.length, sha256: await sha256Hex(p.data), file });
  }
  const manifest: FlashBundleManifest = {
    v: 1,
    project: 'diy',
    chip,
    idf_version: 'unknown',
    flash: { mode: 'keep', freq: 'keep', size: 'keep' },
    parts: manifestParts,
    created_at: new Date().toISOString(),
  };
  return { manifestBytes: new TextEncoder().encode(JSON.stringify(manifest)), files };
}
