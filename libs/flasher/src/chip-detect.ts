import type { ESPLoader } from 'esptool-js';

/** The esptool-js 0.7.0 internals this uses (private in its typings, public at run time). */
interface LoaderInternals {
  chipFromMagicValue(): Promise<ESPLoader['chip'] & { USES_MAGIC_VALUE?: boolean }>;
  identifyChip(): Promise<ESPLoader['chip']>;
  applyDetectedChip(chip: ESPLoader['chip']): void;
}

/** ROMs that answer GET_SECURITY_INFO with "unsupported" (esptool: ESP8266 and ESP32 have no such command). */
const NO_SECURITY_INFO = new Set(['ESP32', 'ESP8266']);

/**
 * Identify the chip after sync, magic register first. esptool (and esptool-js's `connect(…, true)`) asks
 * GET_SECURITY_INFO first; the ESP32 ROM does not know it, and esptool-js then drains the line for 100 ms of
 * quiet before falling back to the magic register. Reading the magic first costs later chips one register
 * read (a few ms) and saves the ESP32 that 100 ms; chips whose ROM has GET_SECURITY_INFO still go through it
 * (chip id, secure download mode), as does a magic value esptool-js does not know or a ROM that refuses the
 * read (ESP32-S2 in secure download mode).
 */
export async function detectChip(loader: ESPLoader): Promise<void> {
  const internals = loader as unknown as LoaderInternals;
  let byMagic: Awaited<ReturnType<LoaderInternals['chipFromMagicValue']>> | undefined;
  try {
    byMagic = await internals.chipFromMagicValue();
  } catch {
    byMagic = undefined;
  }
  if (byMagic && byMagic.USES_MAGIC_VALUE && NO_SECURITY_INFO.has(byMagic.CHIP_NAME)) {
    internals.applyDetectedChip(byMagic);
    return;
  }
  internals.applyDetectedChip(await internals.identifyChip());
}
