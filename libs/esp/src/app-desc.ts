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
  return out;
}
