import type { EspWebToolsManifest, FlashFreq, FlashMode, FlashSize, Target } from '@aegis/protocol';

type ChipFamily = EspWebToolsManifest['builds'][number]['chipFamily'];
export type MemoryRegion = readonly [start: number, end: number, name: string];

/** What libs/esp needs to know about one chip (values from esptool's `targets/*.py`). */
export interface ChipInfo {
  target: Target;
  /** Human name, also ESP Web Tools' `chipFamily`. */
  name: ChipFamily;
  /** `chip_id` in the extended image header. */
  chipId: number;
  architecture: 'xtensa' | 'riscv';
  /** Where the second-stage bootloader lives in flash. */
  bootloaderOffset: number;
  /** Flash-mapped instruction and data windows: segments here are placed on 64 KiB MMU pages. */
  iromMap: readonly [number, number];
  dromMap: readonly [number, number];
  /** esptool's MEMORY_MAP: sections are merged only when their start addresses fall in the same regions. */
  memoryMap: readonly MemoryRegion[];
  /** Low nibble of header byte 3. */
  flashFreq: Partial<Record<FlashFreq, number>>;
}

const FREQ_DEFAULT = { '80m': 0xf, '40m': 0x0, '26m': 0x1, '20m': 0x2 } as const;

/** The ESP32-C6 and ESP32-H2 share one address map (as in esptool's targets). */
const C6_H2_MEMORY_MAP: ChipInfo['memoryMap'] = [
  [0x00000000, 0x00010000, 'PADDING'],
  [0x42800000, 0x43000000, 'DROM'],
  [0x40800000, 0x40880000, 'DRAM'],
  [0x40800000, 0x40880000, 'BYTE_ACCESSIBLE'],
  [0x4004ac00, 0x40050000, 'DROM_MASK'],
  [0x40000000, 0x4004ac00, 'IROM_MASK'],
  [0x42000000, 0x42800000, 'IROM'],
  [0x40800000, 0x40880000, 'IRAM'],
  [0x50000000, 0x50004000, 'RTC_IRAM'],
  [0x50000000, 0x50004000, 'RTC_DRAM'],
  [0x600fe000, 0x60100000, 'MEM_INTERNAL2'],
];

export const CHIPS: Readonly<Record<Target, ChipInfo>> = {
  esp32: {
    target: 'esp32',
    name: 'ESP32',
    chipId: 0,
    architecture: 'xtensa',
    bootloaderOffset: 0x1000,
    iromMap: [0x400d0000, 0x40400000],
    dromMap: [0x3f400000, 0x3f800000],
    memoryMap: [
      [0x00000000, 0x00010000, 'PADDING'],
      [0x3f400000, 0x3f800000, 'DROM'],
      [0x3f800000, 0x3fc00000, 'EXTRAM_DATA'],
      [0x3ff80000, 0x3ff82000, 'RTC_DRAM'],
      [0x3ff90000, 0x40000000, 'BYTE_ACCESSIBLE'],
      [0x3ffae000, 0x40000000, 'DRAM'],
      [0x3ffe0000, 0x3ffffffc, 'DIRAM_DRAM'],
      [0x40000000, 0x40070000, 'IROM'],
      [0x40070000, 0x40078000, 'CACHE_PRO'],
      [0x40078000, 0x40080000, 'CACHE_APP'],
      [0x40080000, 0x400a0000, 'IRAM'],
      [0x400a0000, 0x400bfffc, 'DIRAM_IRAM'],
      [0x400c0000, 0x400c2000, 'RTC_IRAM'],
      [0x400d0000, 0x40400000, 'IROM'],
      [0x50000000, 0x50002000, 'RTC_DATA'],
    ],
    flashFreq: FREQ_DEFAULT,
  },
  esp32s2: {
    target: 'esp32s2',
    name: 'ESP32-S2',
    chipId: 2,
    architecture: 'xtensa',
    bootloaderOffset: 0x1000,
    iromMap: [0x40080000, 0x40b80000],
    dromMap: [0x3f000000, 0x3f3f0000],
    memoryMap: [
      [0x00000000, 0x00010000, 'PADDING'],
      [0x3f000000, 0x3ff80000, 'DROM'],
      [0x3f500000, 0x3ff80000, 'EXTRAM_DATA'],
      [0x3ff9e000, 0x3ffa0000, 'RTC_DRAM'],
      [0x3ff9e000, 0x40000000, 'BYTE_ACCESSIBLE'],
      [0x3ff9e000, 0x40072000, 'MEM_INTERNAL'],
      [0x3ffb0000, 0x40000000, 'DRAM'],
      [0x40000000, 0x4001a100, 'IROM_MASK'],
      [0x40020000, 0x40070000, 'IRAM'],
      [0x40070000, 0x40072000, 'RTC_IRAM'],
      [0x40080000, 0x40800000, 'IROM'],
      [0x50000000, 0x50002000, 'RTC_DATA'],
    ],
    flashFreq: FREQ_DEFAULT,
  },
  esp32s3: {
    target: 'esp32s3',
    name: 'ESP32-S3',
    chipId: 9,
    architecture: 'xtensa',
    bootloaderOffset: 0x0,
    iromMap: [0x42000000, 0x44000000],
    dromMap: [0x3c000000, 0x3e000000],
    memoryMap: [
      [0x00000000, 0x00010000, 'PADDING'],
      [0x3c000000, 0x3d000000, 'DROM'],
      [0x3d000000, 0x3e000000, 'EXTRAM_DATA'],
      [0x600fe000, 0x60100000, 'RTC_DRAM'],
      [0x3fc88000, 0x3fd00000, 'BYTE_ACCESSIBLE'],
      [0x3fc88000, 0x403e2000, 'MEM_INTERNAL'],
      [0x3fc88000, 0x3fd00000, 'DRAM'],
      [0x40000000, 0x4001a100, 'IROM_MASK'],
      [0x40370000, 0x403e0000, 'IRAM'],
      [0x600fe000, 0x60100000, 'RTC_IRAM'],
      [0x42000000, 0x42800000, 'IROM'],
      [0x50000000, 0x50002000, 'RTC_DATA'],
    ],
    flashFreq: FREQ_DEFAULT,
  },
  esp32c2: {
    target: 'esp32c2',
    name: 'ESP32-C2',
    chipId: 12,
    architecture: 'riscv',
    bootloaderOffset: 0x0,
    iromMap: [0x42000000, 0x42400000],
    dromMap: [0x3c000000, 0x3c400000],
    memoryMap: [
      [0x00000000, 0x00010000, 'PADDING'],
      [0x3c000000, 0x3c400000, 'DROM'],
      [0x3fca0000, 0x3fce0000, 'DRAM'],
      [0x3fc88000, 0x3fd00000, 'BYTE_ACCESSIBLE'],
      [0x3ff00000, 0x3ff50000, 'DROM_MASK'],
      [0x40000000, 0x40090000, 'IROM_MASK'],
      [0x42000000, 0x42400000, 'IROM'],
      [0x4037c000, 0x403c0000, 'IRAM'],
    ],
    flashFreq: { '60m': 0xf, '30m': 0x0, '20m': 0x1, '15m': 0x2 },
  },
  esp32c3: {
    target: 'esp32c3',
    name: 'ESP32-C3',
    chipId: 5,
    architecture: 'riscv',
    bootloaderOffset: 0x0,
    iromMap: [0x42000000, 0x42800000],
    dromMap: [0x3c000000, 0x3c800000],
    memoryMap: [
      [0x00000000, 0x00010000, 'PADDING'],
      [0x3c000000, 0x3c800000, 'DROM'],
      [0x3fc80000, 0x3fce0000, 'DRAM'],
      [0x3fc88000, 0x3fd00000, 'BYTE_ACCESSIBLE'],
      [0x3ff00000, 0x3ff20000, 'DROM_MASK'],
      [0x40000000, 0x40060000, 'IROM_MASK'],
      [0x42000000, 0x42800000, 'IROM'],
      [0x4037c000, 0x403e0000, 'IRAM'],
      [0x50000000, 0x50002000, 'RTC_IRAM'],
      [0x50000000, 0x50002000, 'RTC_DRAM'],
      [0x600fe000, 0x60100000, 'MEM_INTERNAL2'],
    ],
    flashFreq: FREQ_DEFAULT,
  },
  esp32c5: {
    target: 'esp32c5',
    name: 'ESP32-C5',
    chipId: 23,
    architecture: 'riscv',
    bootloaderOffset: 0x2000,
    iromMap: [0x42000000, 0x44000000],
    dromMap: [0x42000000, 0x44000000],
    memoryMap: [
      [0x00000000, 0x00010000, 'PADDING'],
      [0x42000000, 0x44000000, 'DROM'],
      [0x40800000, 0x40860000, 'DRAM'],
      [0x40800000, 0x40860000, 'BYTE_ACCESSIBLE'],
      [0x4003a000, 0x40040000, 'DROM_MASK'],
      [0x40000000, 0x4003a000, 'IROM_MASK'],
      [0x42000000, 0x44000000, 'IROM'],
      [0x40800000, 0x40860000, 'IRAM'],
      [0x50000000, 0x50004000, 'RTC_IRAM'],
      [0x50000000, 0x50004000, 'RTC_DRAM'],
      [0x600fe000, 0x60100000, 'MEM_INTERNAL2'],
    ],
    flashFreq: { '80m': 0xf, '40m': 0x0, '20m': 0x2 },
  },
  esp32c6: {
    target: 'esp32c6',
    name: 'ESP32-C6',
    chipId: 13,
    architecture: 'riscv',
    bootloaderOffset: 0x0,
    iromMap: [0x42000000, 0x42800000],
    dromMap: [0x42800000, 0x43000000],
    memoryMap: C6_H2_MEMORY_MAP,
    // esptool writes 0x0 for 80m on the C6 (its ROM's MSPI divider quirk); 0x0 reads back as 80m.
    flashFreq: { '80m': 0x0, '40m': 0x0, '20m': 0x2 },
  },
  esp32h2: {
    target: 'esp32h2',
    name: 'ESP32-H2',
    chipId: 16,
    architecture: 'riscv',
    bootloaderOffset: 0x0,
    iromMap: [0x42000000, 0x42800000],
    dromMap: [0x42800000, 0x43000000],
    memoryMap: C6_H2_MEMORY_MAP,
    flashFreq: { '48m': 0xf, '24m': 0x0, '16m': 0x1, '12m': 0x2 },
  },
  esp32p4: {
    target: 'esp32p4',
    name: 'ESP32-P4',
    chipId: 18,
    architecture: 'riscv',
    bootloaderOffset: 0x2000,
    iromMap: [0x40000000, 0x4c000000],
    dromMap: [0x40000000, 0x4c000000],
    memoryMap: [
      [0x00000000, 0x00010000, 'PADDING'],
      [0x40000000, 0x4c000000, 'DROM'],
      [0x4ff00000, 0x4ffa0000, 'DRAM'],
      [0x4ff00000, 0x4ffa0000, 'BYTE_ACCESSIBLE'],
      [0x4fc00000, 0x4fc20000, 'DROM_MASK'],
      [0x4fc00000, 0x4fc20000, 'IROM_MASK'],
      [0x40000000, 0x4c000000, 'IROM'],
      [0x4ff00000, 0x4ffa0000, 'IRAM'],
      [0x50108000, 0x50110000, 'RTC_IRAM'],
      [0x50108000, 0x50110000, 'RTC_DRAM'],
      [0x600fe000, 0x60100000, 'MEM_INTERNAL2'],
    ],
    flashFreq: { '80m': 0xf, '40m': 0x0, '20m': 0x2 },
  },
};

export const CHIP_LIST: readonly ChipInfo[] = Object.values(CHIPS);

export function chipByImageId(chipId: number): ChipInfo | undefined {
  return CHIP_LIST.find((c) => c.chipId === chipId);
}

export function isFlashMapped(chip: ChipInfo, addr: number): boolean {
  return (addr >= chip.iromMap[0] && addr < chip.iromMap[1]) || (addr >= chip.dromMap[0] && addr < chip.dromMap[1]);
}

/** Names of every memory region the address falls in (esptool's `get_memory_type`). */
export function memoryTypes(chip: ChipInfo, addr: number): string[] {
  return chip.memoryMap.filter(([start, end]) => addr >= start && addr < end).map(([, , name]) => name);
}

/** Header byte 2. */
export const FLASH_MODE_CODES: Readonly<Record<Exclude<FlashMode, 'keep'>, number>> = {
  qio: 0,
  qout: 1,
  dio: 2,
  dout: 3,
};

/** High nibble of header byte 3, already shifted. */
export const FLASH_SIZE_CODES: Readonly<Record<Exclude<FlashSize, 'detect' | 'keep'>, number>> = {
  '1MB': 0x00,
  '2MB': 0x10,
  '4MB': 0x20,
  '8MB': 0x30,
  '16MB': 0x40,
  '32MB': 0x50,
  '64MB': 0x60,
  '128MB': 0x70,
};

export function flashSizeBytes(size: Exclude<FlashSize, 'detect' | 'keep'>): number {
  return Number.parseInt(size, 10) * 1024 * 1024;
}
