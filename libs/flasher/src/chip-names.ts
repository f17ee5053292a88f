import type { Target } from '@aegis/protocol';

/** esptool-js CHIP_NAME for each ESP-IDF target. */
export const ESPTOOL_CHIP_NAMES: Record<Target, string> = {
  esp32: 'ESP32',
  esp32s2: 'ESP32-S2',
  esp32s3: 'ESP32-S3',
  esp32c2: 'ESP32-C2',
  esp32c3: 'ESP32-C3',
  esp32c5: 'ESP32-C5',
  esp32c6: 'ESP32-C6',
  esp32h2: 'ESP32-H2',
  esp32p4: 'ESP32-P4',
};

export function targetOfChipName(chipName: string): Target | undefined {
  return (Object.keys(ESPTOOL_CHIP_NAMES) as Target[]).find((t) => ESPTOOL_CHIP_NAMES[t] === chipName);
}
