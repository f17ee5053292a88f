import type { FlashFreq, FlashMode, FlashSize, Target } from '@aegis/protocol';
import { readAppDesc, type AppDesc } from './app-desc.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { concatBytes, padTo, sha256Hex, toHex, view } from './bytes.js';
import { CHIPS, FLASH_MODE_CODES, FLASH_SIZE_CODES, chipByImageId, type ChipInfo } from './chips.js';
import { EspFormatError, hex } from './errors.js';

export const IMAGE_MAGIC = 0xe9;
/** Initial value of the XOR checksum over all segment data (`ESP_CHECKSUM_MAGIC`). */
export const CHECKSUM_SEED = 0xef;
/** Common header (8) + extended header (16). */
export const IMAGE_HEADER_SIZE = 24;
export const SEGMENT_HEADER_SIZE = 8;
/** `ESP_IMAGE_MAX_SEGMENTS` in the ESP-IDF bootloader. */
export const MAX_SEGMENTS = 16;
/** ROM/bootloader reads this value as "no WP pin remap". */
export const WP_PIN_DISABLED = 0xee;

export interface ImageSegment {
  loadAddress: number;
  data: Uint8Array;
}

export interface AppImageHeader {
  magic: number;
  segmentCount: number;
  flashMode: Exclude<FlashMode, 'keep'>;
  flashFreq: FlashFreq;
  flashSize: FlashSize;
  entry: number;
  wpPin: number;
  chipId: number;
  /** Undefined when the chip id is not one ESP-IDF targets. */
  chip?: Target;
  /** Legacy one-byte `min_chip_rev`. */
  legacyMinRevision: number;
  /** `min_chip_rev_full` (major * 100 + minor). */
  minRevision: number;
  /** `max_chip_rev_full` (major * 100 + minor; 0xFFFF = no limit). */
  maxRevision: number;
  hashAppended: boolean;
}

export interface AppImage {
  header: AppImageHeader;
  segments: ImageSegment[];
  checksum: { stored: number; computed: number; valid: boolean };
  sha256?: { stored: string; computed: string; valid: boolean };
  appDesc?: AppDesc;
  /** Bytes the image occupies, up to and including the appended SHA-256 (files may carry padding after it). */
  size: number;
}

export interface AppImageSpec {
  chip: Target;
  flashMode: FlashMode;
  flashFreq: FlashFreq;
  flashSize: FlashSize;
  entry: number;
  segments: readonly ImageSegment[];
  minRevision?: number;
  maxRevision?: number;
  legacyMinRevision?: number;
  /** Append the SHA-256 of the image (ESP-IDF always does). Default true. */
  hashAppended?: boolean;
  wpPin?: number;
}

function decodeFlashMode(code: number): Exclude<FlashMode, 'keep'> {
  const entry = Object.entries(FLASH_MODE_CODES).find(([, v]) => v === code);
  if (!entry) throw new EspFormatError('bad_header', `Unknown flash mode byte ${hex(code)} in the image header.`);
  return entry[0] as Exclude<FlashMode, 'keep'>;
}

function decodeFlashSize(nibble: number): FlashSize {
  const entry = Object.entries(FLASH_SIZE_CODES).find(([, v]) => v === nibble << 4);
  if (!entry) throw new EspFormatError('bad_header', `Unknown flash size code ${hex(nibble)} in the image header.`);
  return entry[0] as FlashSize;
}

function decodeFlashFreq(chip: ChipInfo, nibble: number): FlashFreq {
  // First match wins, so the C6's shared 0x0 code reads as 80m (what ESP-IDF writes by default).
  const entry = Object.entries(chip.flashFreq).find(([, v]) => v === nibble);
  if (!entry)
    throw new EspFormatError(
      'bad_header',
      `Unknown flash frequency code ${hex(nibble)} for ${chip.name} in the header.`,
    );
  return entry[0] as FlashFreq;
}

export function xorChecksum(chunks: Iterable<Uint8Array>, seed = CHECKSUM_SEED): number {
  let c = seed;
  for (const chunk of chunks) for (let i = 0; i < chunk.length; i++) c ^= chunk[i];
  return c;
}

/** Read and check an ESP32-family app or bootloader image (`esptool image_info`). Throws EspFormatError. */
export function readAppImage(bytes: Uint8Array): AppImage {
  if (bytes.length < IMAGE_HEADER_SIZE)
    throw new EspFormatError('truncated', `Image is ${bytes.length} bytes, shorter than its 24-byte header.`);
  if (bytes[0] !== IMAGE_MAGIC)
    throw new EspFormatError('bad_magic', `Not an ESP image: first byte is ${hex(bytes[0], 2)}, expected 0xe9.`);
  const dv = view(bytes);
  const segmentCount = bytes[1];
  if (segmentCount > MAX_SEGMENTS)
    throw new EspFormatError(
      'too_many_segments',
      `Image header claims ${segmentCount} segments; at most 16 are allowed.`,
    );
  const chipId = dv.getUint16(12, true);
  const chip = chipByImageId(chipId);
  const hashByte = bytes[23];
  if (hashByte > 1)
    throw new EspFormatError('bad_header', `hash_appended byte is ${hex(hashByte, 2)}; it must be 0 or 1.`);
  const header: AppImageHeader = {
    magic: bytes[0],
    segmentCount,
    flashMode: decodeFlashMode(bytes[2]),
    flashFreq: decodeFlashFreq(chip ?? CHIPS.esp32, bytes[3] & 0x0f),
    flashSize: decodeFlashSize(bytes[3] >> 4),
    entry: dv.getUint32(4, true),
    wpPin: bytes[8],
    chipId,
    chip: chip?.target,
    legacyMinRevision: bytes[14],
    minRevision: dv.getUint16(15, true),
    maxRevision: dv.getUint16(17, true),
    hashAppended: hashByte === 1,
  };

  const segments: ImageSegment[] = [];
  let pos = IMAGE_HEADER_SIZE;
  for (let i = 0; i < segmentCount; i++) {
    if (pos + SEGMENT_HEADER_SIZE > bytes.length)
      throw new EspFormatError('truncated', `Image ends inside the header of segment ${i} (offset ${hex(pos)}).`);
    const loadAddress = dv.getUint32(pos, true);
    const length = dv.getUint32(pos + 4, true);
    pos += SEGMENT_HEADER_SIZE;
    if (pos + length > bytes.length)
      throw new EspFormatError(
        'truncated',
        `Segment ${i} at ${hex(loadAddress)} claims ${length} bytes but only ${bytes.length - pos} remain.`,
      );
    segments.push({ loadAddress, data: bytes.slice(pos, pos + length) });
    pos += length;
  }
  // The checksum byte sits so that the image so far is a multiple of 16 bytes.
  const checksumPos = pos + (15 - (pos % 16));
  if (checksumPos >= bytes.length) throw new EspFormatError('truncated', 'Image ends before its checksum byte.');
  const stored = bytes[checksumPos];
  const computed = xorChecksum(segments.map((s) => s.data));
  const image: AppImage = {
    header,
    segments,
    checksum: { stored, computed, valid: stored === computed },
    size: checksumPos + 1,
  };
  if (header.hashAppended) {
    const end = checksumPos + 1;
    if (end + 32 > bytes.length)
      throw new EspFormatError('truncated', 'Image header says a SHA-256 is appended, but the file ends before it.');
    const storedHash = bytes.subarray(end, end + 32);
    const computedHex = sha256Hex(bytes.subarray(0, end));
    const storedHex = toHex(storedHash);
    image.sha256 = { stored: storedHex, computed: computedHex, valid: storedHex === computedHex };
    image.size = end + 32;
  }
  const desc = segments.length > 0 ? readAppDesc(segments[0].data) : undefined;
  if (desc) image.appDesc = desc;
  return image;
}

/** Bootloader images share the app image format (they carry no esp_app_desc_t). */
export const readBootloaderImage = readAppImage;

/** Header byte 3 for a chip: flash size (high nibble) | flash frequency (low nibble). */
export function encodeFlashSizeFreq(chip: ChipInfo, flashSize: FlashSize, flashFreq: FlashFreq): number {
  if (flashSize === 'detect' || flashSize === 'keep')
    throw new EspFormatError(
      'bad_argument',
      `Flash size '${flashSize}' cannot be written into an image; give e.g. 4MB.`,
    );
  const freq = chip.flashFreq[flashFreq];
  if (freq === undefined)
    throw new EspFormatError(
      'bad_argument',
      `${chip.name} does not support flash frequency ${flashFreq}; use one of ${Object.keys(chip.flashFreq).join(', ')}.`,
    );
  return FLASH_SIZE_CODES[flashSize] | freq;
}

export function encodeFlashMode(mode: FlashMode): number {
  if (mode === 'keep') throw new EspFormatError('bad_argument', "Flash mode 'keep' cannot be written into an image.");
  return FLASH_MODE_CODES[mode];
}

/**
 * Write an image from segments, in the order given (no reordering or MMU padding: that is elfToAppImage's job).
 * Segment data is zero-padded to a multiple of 4 bytes, as esptool does.
 */
export function writeAppImage(spec: AppImageSpec): Uint8Array {
  const chip = CHIPS[spec.chip];
  if (!chip) throw new EspFormatError('unknown_chip', `Unknown chip '${String(spec.chip)}'.`);
  if (spec.segments.length > MAX_SEGMENTS)
    throw new EspFormatError(
      'too_many_segments',
      `${spec.segments.length} segments; an image holds at most 16. Merge sections in the linker script.`,
    );
  const header = new Uint8Array(IMAGE_HEADER_SIZE);
  const dv = view(header);
  header[0] = IMAGE_MAGIC;
  header[1] = spec.segments.length;
  header[2] = encodeFlashMode(spec.flashMode);
  header[3] = encodeFlashSizeFreq(chip, spec.flashSize, spec.flashFreq);
  dv.setUint32(4, spec.entry >>> 0, true);
  header[8] = spec.wpPin ?? WP_PIN_DISABLED;
  dv.setUint16(12, chip.chipId, true);
  header[14] = spec.legacyMinRevision ?? 0;
  dv.setUint16(15, spec.minRevision ?? 0, true);
  dv.setUint16(17, spec.maxRevision ?? 0xffff, true);
  const hashAppended = spec.hashAppended ?? true;
  header[23] = hashAppended ? 1 : 0;

  const chunks: Uint8Array[] = [header];
  const datas: Uint8Array[] = [];
  let pos = IMAGE_HEADER_SIZE;
  for (const seg of spec.segments) {
    const data = padTo(seg.data, 4, 0);
    if (data.length >= 0x1000000)
      throw new EspFormatError('bad_segment', `Segment at ${hex(seg.loadAddress)} is 16 MB or larger.`);
    const sh = new Uint8Array(SEGMENT_HEADER_SIZE);
    view(sh).setUint32(0, seg.loadAddress >>> 0, true);
    view(sh).setUint32(4, data.length, true);
    chunks.push(sh, data);
    datas.push(data);
    pos += SEGMENT_HEADER_SIZE + data.length;
  }
  const tail = new Uint8Array(16 - (pos % 16));
  tail[tail.length - 1] = xorChecksum(datas);
  chunks.push(tail);
  const body = concatBytes(chunks);
  if (!hashAppended) return body;
  return concatBytes([body, sha256(body)]);
}

/** True when the image's checksum and (if present) SHA-256 both verify. */
export function isImageValid(image: AppImage): boolean {
  return image.checksum.valid && (image.sha256 === undefined || image.sha256.valid);
}
