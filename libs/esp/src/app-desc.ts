import { readCString, toHex, view, writeCString } from './bytes.js';
import { EspFormatError } from './errors.js';

/** `ESP_APP_DESC_MAGIC_WORD` from esp_app_format.h. */
export const APP_DESC_MAGIC = 0xabcd5432;
/** `sizeof(esp_app_desc_t)`. */
export const APP_DESC_SIZE = 256;
/** Offset of `app_elf_sha256` inside esp_app_desc_t. */
export const APP_DESC_ELF_SHA256_OFFSET = 0x90;

/** `esp_app_desc_t`: at the very start of the app's first (DROM) segment. */
export interface AppDesc {
  magicWord: number;
  secureVersion: number;
  version: string;
  projectName: string;
  time: string;
  date: string;
  idfVersion: string;
  /** Hex SHA-256 of the ELF the image was made from (all zero when the tool did not patch it in). */
  elfSha256: string;
  /** Lowest / highest eFuse block revision (major × 100 + minor) the app runs on (ESP-IDF 5.2+; 0 before). */
  minEfuseBlkRevFull: number;
  maxEfuseBlkRevFull: number;
  /** Flash MMU page size in bytes the app was linked for (ESP-IDF 5.3+); undefined when the field is 0 (older). */
  mmuPageSize?: number;
}

/** Parse an esp_app_desc_t; returns undefined when the magic word is not there. */
export function readAppDesc(bytes: Uint8Array): AppDesc | undefined {
  if (bytes.length < APP_DESC_SIZE) return undefined;
  const dv = view(bytes);
  const magicWord = dv.getUint32(0, true);
  if (magicWord !== APP_DESC_MAGIC) return undefined;
  return {
    magicWord,
    secureVersion: dv.getUint32(4, true),
    version: readCString(bytes, 16, 32),
    projectName: readCString(bytes, 48, 32),
    time: readCString(bytes, 80, 16),
    date: readCString(bytes, 96, 16),
    idfVersion: readCString(bytes, 112, 32),
    elfSha256: toHex(bytes.subarray(144, 176)),
    minEfuseBlkRevFull: dv.getUint16(176, true),
    maxEfuseBlkRevFull: dv.getUint16(178, true),
    // Stored as log2 of the size.
    mmuPageSize: bytes[180] === 0 ? undefined : 2 ** bytes[180],
  };
}

export interface AppDescSpec {
  version: string;
  projectName: string;
  idfVersion: string;
  time?: string;
  date?: string;
  secureVersion?: number;
  /** Leave unset (zeros) when elfToAppImage should patch in the ELF's SHA-256, as esptool does. */
  elfSha256?: string;
  minEfuseBlkRevFull?: number;
  maxEfuseBlkRevFull?: number;
  /** Flash MMU page size in bytes (a power of two); unset writes 0, as ESP-IDF before 5.3. */
  mmuPageSize?: number;
}

/** Encode an esp_app_desc_t (256 bytes), e.g. for a test toolchain that emits it as the `.flash.appdesc` section. */
export function writeAppDesc(spec: AppDescSpec): Uint8Array {
  const out = new Uint8Array(APP_DESC_SIZE);
  const dv = view(out);
  dv.setUint32(0, APP_DESC_MAGIC, true);
  dv.setUint32(4, spec.secureVersion ?? 0, true);
  writeCString(out, 16, 32, spec.version);
  writeCString(out, 48, 32, spec.projectName);
  writeCString(out, 80, 16, spec.time ?? '00:00:00');
  writeCString(out, 96, 16, spec.date ?? 'Jan  1 2026');
  writeCString(out, 112, 32, spec.idfVersion);
  if (spec.elfSha256 !== undefined) {
    if (!/^[0-9a-f]{64}$/.test(spec.elfSha256))
      throw new EspFormatError('bad_argument', 'elfSha256 must be 64 lowercase hex characters.');
    for (let i = 0; i < 32; i++) out[144 + i] = Number.parseInt(spec.elfSha256.slice(i * 2, i * 2 + 2), 16);
  }
  dv.setUint16(176, spec.minEfuseBlkRevFull ?? 0, true);
  dv.setUint16(178, spec.maxEfuseBlkRevFull ?? 0, true);
  if (spec.mmuPageSize !== undefined) {
    const log2 = Math.log2(spec.mmuPageSize);
    if (!Number.isInteger(log2) || log2 < 1 || log2 > 255)
      throw new EspFormatError('bad_argument', 'mmuPageSize must be a power of two, e.g. 0x8000 for 32 KB.');
    out[180] = log2;
  }
  return out;
}

/** `ESP_BOOTLOADER_DESC_MAGIC_BYTE`. */
export const BOOTLOADER_DESC_MAGIC = 80;
/** `sizeof(esp_bootloader_desc_t)`. */
export const BOOTLOADER_DESC_SIZE = 80;

/**
 * `esp_bootloader_desc_t` (ESP-IDF 5.3+): at the start of a bootloader image's first RAM segment
 * (`.dram0.bootdesc`, image offset 0x20).
 */
export interface BootloaderDesc {
  /** Bootloader version (CONFIG_BOOTLOADER_PROJECT_VER). */
  version: number;
  idfVersion: string;
  /** Build date and time, e.g. "Jun  3 2024 10:00:00". */
  dateTime: string;
}

/** Parse an esp_bootloader_desc_t; undefined when the magic byte is not there (older bootloaders). */
export function readBootloaderDesc(bytes: Uint8Array): BootloaderDesc | undefined {
  if (bytes.length < BOOTLOADER_DESC_SIZE || bytes[0] !== BOOTLOADER_DESC_MAGIC) return undefined;
  return {
    version: view(bytes).getUint32(4, true),
    idfVersion: readCString(bytes, 8, 32),
    dateTime: readCString(bytes, 40, 24),
  };
}

export interface BootloaderDescSpec {
  version?: number;
  idfVersion: string;
  dateTime?: string;
}

/** Encode an esp_bootloader_desc_t (80 bytes), the `.dram0.bootdesc` section of a bootloader ELF. */
export function writeBootloaderDesc(spec: BootloaderDescSpec): Uint8Array {
  const out = new Uint8Array(BOOTLOADER_DESC_SIZE);
  out[0] = BOOTLOADER_DESC_MAGIC;
  view(out).setUint32(4, spec.version ?? 1, true);
  writeCString(out, 8, 32, spec.idfVersion);
  writeCString(out, 40, 24, spec.dateTime ?? 'Jan  1 2026 00:00:00');
  return out;
}
