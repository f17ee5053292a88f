import { CHIPS, chipByImageId, flashSizeBytes } from '@aegis/esp';
import { EMULATOR_MAX_IMAGE_BYTES, EmulatedChip, type FlashSize, type Target } from '@aegis/protocol';

/** Flash sizes the ESP32 and ESP32-C3 QEMU machines accept for `-drive if=mtd`. */
export const QEMU_FLASH_SIZES = [2, 4, 8, 16].map((mib) => mib * 1024 * 1024);

/** A refused image or run, with the wire `error` code. */
export class EmulatorRefusal extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function isEmulatedChip(t: Target | undefined): t is EmulatedChip {
  return EmulatedChip.safeParse(t).success;
}

/**
 * The QEMU flash size for an image: the smallest size QEMU takes that holds both the image and the flash size the
 * build was configured for (`flash_settings.flash_size` of flasher_args, in the bundle manifest).
 */
export function qemuFlashBytes(imageBytes: number, configured?: FlashSize): number {
  const want = Math.max(
    imageBytes,
    configured && configured !== 'detect' && configured !== 'keep' ? flashSizeBytes(configured) : 0,
  );
  const size = QEMU_FLASH_SIZES.find((s) => s >= want);
  if (size === undefined || imageBytes > EMULATOR_MAX_IMAGE_BYTES)
    throw new EmulatorRefusal(
      'image_too_large',
      `The flash image needs ${(want / 1024 / 1024).toFixed(1)} MiB; the emulator takes at most 16 MiB of flash.`,
    );
  return size;
}

/** The image padded with erased flash (0xFF) to `size` bytes. */
export function padImage(image: Uint8Array, size: number): Uint8Array {
  if (image.length === size) return image;
  const out = new Uint8Array(size).fill(0xff);
  out.set(image.subarray(0, size));
  return out;
}

/**
 * The chip a merged image at flash offset 0 is for, from its bootloader's image header (at 0x0 on the ESP32-C3,
 * 0x1000 on the ESP32); undefined when neither place holds one.
 */
export function chipOfMergedImage(image: Uint8Array): Target | undefined {
  for (const chip of [CHIPS.esp32c3, CHIPS.esp32]) {
    const at = chip.bootloaderOffset;
    if (image.length < at + 24 || image[at] !== 0xe9) continue;
    const id = image[at + 12] | (image[at + 13] << 8);
    const found = chipByImageId(id);
    if (found?.target === chip.target) return found.target;
  }
  return undefined;
}
