import { sha256 } from '@noble/hashes/sha2.js';
import type { FlashFreq, FlashMode, FlashSize } from '@aegis/protocol';
import { encodeFlashMode, encodeFlashSizeFreq, readAppImage } from './app-image.js';
import { CHIPS, chipByImageId } from './chips.js';
import { EspFormatError } from './errors.js';

export interface FlashParams {
  flashMode?: FlashMode;
  flashFreq?: FlashFreq;
  flashSize?: FlashSize;
}

/**
 * What esptool does to the bootloader when writing with --flash_mode/--flash_freq/--flash_size: rewrite header bytes
 * 2–3 and, when a SHA-256 is appended, recompute it so the image still validates. 'keep'/'detect' leave a field as
 * is. Returns a new array; the input is not changed. (Only the checksum-free header changes, so the XOR checksum
 * stays valid.)
 */
export function updateImageFlashParams(bytes: Uint8Array, params: FlashParams): Uint8Array {
  const image = readAppImage(bytes);
  const chip = chipByImageId(image.header.chipId) ?? CHIPS.esp32;
  const out = bytes.slice();
  if (params.flashMode && params.flashMode !== 'keep') out[2] = encodeFlashMode(params.flashMode);
  const size =
    params.flashSize && params.flashSize !== 'keep' && params.flashSize !== 'detect'
      ? params.flashSize
      : image.header.flashSize;
  const freq = params.flashFreq && params.flashFreq !== 'keep' ? params.flashFreq : image.header.flashFreq;
  out[3] = encodeFlashSizeFreq(chip, size, freq);
  if (image.sha256) {
    if (!image.sha256.valid)
      throw new EspFormatError('bad_image', 'The image SHA-256 is already wrong; refusing to re-sign a corrupt image.');
    const end = image.size - 32;
    out.set(sha256(out.subarray(0, end)), end);
  }
  return out;
}
