import { stat } from 'node:fs/promises';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { StoreManifest, type EmulatedChip } from '@aegis/protocol';
import { storePath } from '../store/store.js';

/** QEMU of an IDF version in the store: the binary per chip and the ROM directory (`-L`). */
export interface QemuInstall {
  idfVersion: string;
  binary: string;
  roms: string;
}

const BINARY: Record<EmulatedChip, string> = { esp32c3: 'qemu-system-riscv32', esp32: 'qemu-system-xtensa' };

/**
 * Finds the QEMU the kit installs beside each IDF version (`<store>/idf/<v>/tools/qemu/bin/qemu-system-*`, ROMs
 * in `../share/qemu`), for every chip. A version without it simply emulates nothing.
 */
export async function findQemu(storeRoot: string): Promise<Map<EmulatedChip, QemuInstall[]>> {
  const root = path.resolve(storeRoot);
  const found = new Map<EmulatedChip, QemuInstall[]>();
  const text = await readFile(path.join(root, 'manifest.json'), 'utf8').catch(() => undefined);
  const parsed = text === undefined ? undefined : StoreManifest.safeParse(safeJson(text));
  if (!parsed?.success) return found;
  for (const v of parsed.data.versions) {
    let qemuDir: string;
    try {
      qemuDir = storePath(root, path.posix.join(path.posix.dirname(v.export_script ?? v.path), 'tools/qemu'));
    } catch {
      continue;
    }
    const roms = path.join(qemuDir, 'share/qemu');
    if (!(await stat(roms).catch(() => undefined))?.isDirectory()) continue;
    for (const [chip, name] of Object.entries(BINARY) as Array<[EmulatedChip, string]>) {
      const binary = path.join(qemuDir, 'bin', name);
      const st = await stat(binary).catch(() => undefined);
      if (!st?.isFile() || (st.mode & 0o111) === 0) continue;
      const list = found.get(chip) ?? [];
      list.push({ idfVersion: v.version, binary, roms });
      found.set(chip, list);
    }
  }
  return found;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * The QEMU command line: the chip's machine, its ROMs, the UART on stdin/stdout (`-serial stdio`, not `mon:stdio`,
 * so Ctrl-A is an ordinary byte), no monitor, no display, no network device, the flash file as the SPI flash.
 */
export function qemuArgs(chip: EmulatedChip, q: QemuInstall, flashFile: string): string[] {
  return [
    q.binary,
    '-M',
    chip,
    '-L',
    q.roms,
    '-nographic',
    '-serial',
    'stdio',
    '-monitor',
    'none',
    '-nic',
    'none',
    '-drive',
    `file=${flashFile},if=mtd,format=raw`,
  ];
}
