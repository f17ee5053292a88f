import { CHIPS as ESP_CHIPS, partitionsToBinary, writeAppDesc, writeAppImage, type Partition } from '@aegis/esp';
import type { ChipName } from './chip-profiles.js';

export interface DemoFirmwareOptions {
  chip: ChipName;
  projectName?: string;
  version?: string;
  idfVersion?: string;
  /** Approximate app image size in bytes (default 192 KiB). */
  appSize?: number;
  /** Different seeds give different code; the same seed gives the same bytes. */
  seed?: number;
  /** Replace the code at this offset of the text segment (a "changed function"), keeping the size. */
  patch?: { at: number; length: number; seed: number };
  /** Use this as the text segment's content source (tiled and perturbed to appSize): realistic compressibility. */
  codeSource?: Uint8Array;
}

export interface FirmwarePart {
  name: 'bootloader' | 'partition-table' | 'app';
  offset: number;
  data: Uint8Array;
}

export const APP_OFFSET = 0x10000;

/**
 * A complete, valid firmware set (2nd-stage bootloader, partition table, app with esp_app_desc_t) made with
 * libs/esp's writers, for tests, benchmarks and the virtual board. The code bytes are synthetic but shaped like
 * machine code (a small instruction vocabulary with varying operands), so they compress like real images do.
 */
export function buildDemoFirmware(options: DemoFirmwareOptions): FirmwarePart[] {
  const chip = ESP_CHIPS[options.chip];
  // ESP-IDF's default flash frequency per chip (the C2 and H2 have no 80 MHz setting).
  const freq = ({ esp32: '40m', esp32c2: '60m', esp32h2: '48m' } as const)[options.chip as 'esp32'] ?? '80m';
  const seed = options.seed ?? 1;
  const appSize = options.appSize ?? 192 * 1024;

  const bootloader = writeAppImage({
    chip: options.chip,
    flashMode: 'dio',
    flashFreq: freq,
    flashSize: '4MB',
    entry: options.chip === 'esp32' ? 0x40080400 : 0x403cc71a,
    segments: [
      { loadAddress: options.chip === 'esp32' ? 0x3fff0030 : 0x3fcd5820, data: code(0x1700, 7) },
      { loadAddress: options.chip === 'esp32' ? 0x40078000 : 0x403cc710, data: code(0x3c00, 8) },
    ],
  });
  const appPartSize = Math.max(0x100000, Math.ceil((appSize + 0x10000) / 0x10000) * 0x10000);
  const partitions: Partition[] = [
    { name: 'nvs', type: 1, subtype: 2, offset: 0x9000, size: 0x6000, encrypted: false, readonly: false },
    { name: 'phy_init', type: 1, subtype: 1, offset: 0xf000, size: 0x1000, encrypted: false, readonly: false },
    { name: 'factory', type: 0, subtype: 0, offset: APP_OFFSET, size: appPartSize, encrypted: false, readonly: false },
  ];
  const desc = writeAppDesc({
    projectName: options.projectName ?? 'demo',
    version: options.version ?? '1.0.0',
    idfVersion: options.idfVersion ?? 'v5.3.1',
    time: '12:00:00',
    date: 'Nov 25 2026',
    // A changed function changes the ELF, hence this hash, exactly as in a real rebuild.
    elfSha256: hex32(seed * 31 + (options.patch?.seed ?? 0)),
  });
  const rodata = new Uint8Array(desc.length + 0x2000);
  rodata.set(desc);
  rodata.set(code(0x2000, seed + 100), desc.length);
  const textSize = Math.max(0x1000, appSize - rodata.length - 0x800 - 64);
  const text = options.codeSource ? tile(options.codeSource, textSize, seed) : code(textSize, seed);
  if (options.patch) {
    const { at, length } = options.patch;
    text.set(code(length, options.patch.seed + 1000).subarray(0, Math.min(length, text.length - at)), at);
  }
  const app = writeAppImage({
    chip: options.chip,
    flashMode: 'dio',
    flashFreq: freq,
    flashSize: '4MB',
    entry: chip.iromMap[0] + 0x20 + 0x100,
    segments: [
      { loadAddress: chip.dromMap[0] + 0x20, data: rodata },
      { loadAddress: chip.iromMap[0] + 0x20, data: text },
      { loadAddress: options.chip === 'esp32' ? 0x3ffb0000 : 0x3fc88000, data: code(0x800, seed + 200) },
    ],
  });
  return [
    { name: 'bootloader', offset: chip.bootloaderOffset, data: bootloader },
    { name: 'partition-table', offset: 0x8000, data: partitionsToBinary(partitions) },
    { name: 'app', offset: APP_OFFSET, data: app },
  ];
}

/** The parts laid out in an erased flash of `size` bytes (to start a SimDevice "already flashed"). */
export function flashImageOf(parts: FirmwarePart[], size = 4 * 1024 * 1024): Uint8Array {
  const out = new Uint8Array(size).fill(0xff);
  for (const p of parts) out.set(p.data, p.offset);
  return out;
}

function rng(seed: number): () => number {
  let x = (seed * 2654435761) >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

/** Machine-code-like bytes: 24/16-bit "instructions" from a small opcode set, registers and small immediates. */
function code(length: number, seed: number): Uint8Array {
  const r = rng(seed);
  const out = new Uint8Array(length);
  const opcodes = Array.from({ length: 24 }, () => r() & 0xff);
  let i = 0;
  while (i < length) {
    const v = r();
    const op = opcodes[v % opcodes.length];
    out[i++] = op;
    if (i < length) out[i++] = (v >>> 8) & 0x7f;
    if (i < length && (v & 0x10000) === 0) out[i++] = (v >>> 20) & (v & 0x20000 ? 0xff : 0x0f);
  }
  return out;
}

/** Repeat a real code sample to `length`, perturbing a few bytes per KiB so copies are not identical. */
function tile(source: Uint8Array, length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  const r = rng(seed);
  for (let o = 0; o < length; o += source.length) out.set(source.subarray(0, Math.min(source.length, length - o)), o);
  for (let o = 0; o < length; o += 1024) {
    for (let k = 0; k < 8; k++) {
      const i = o + (r() % 1024);
      if (i < length) out[i] = r() & 0xff;
    }
  }
  return out;
}

function hex32(seed: number): string {
  const r = rng(seed + 7);
  let s = '';
  for (let i = 0; i < 32; i++) s += (r() & 0xff).toString(16).padStart(2, '0');
  return s;
}
