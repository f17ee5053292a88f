import { writeAppDesc } from '../src/index.js';
import { buildElf32, pattern } from './elf-builder.js';

const desc = (name: string) =>
  writeAppDesc({ version: '2.0.0', projectName: name, idfVersion: 'v5.3.1', time: '12:00:00', date: 'Nov 25 2026' });

/**
 * ESP32 (Xtensa) app laid out like ESP-IDF's: DROM app desc + rodata, DRAM data, IRAM vectors + text (adjacent,
 * merged), RTC fast code, and a flash text segment that ends within 0x24 bytes past a 64 KiB page (esptool pads it).
 */
export function esp32Elf(): Uint8Array {
  return buildElf32({
    machine: 94,
    entry: 0x40080400,
    sections: [
      { name: '.flash.appdesc', addr: 0x3f400020, data: desc('xtensa-synthetic') },
      { name: '.flash.rodata', addr: 0x3f400120, data: pattern(0x50, 1) },
      { name: '.dram0.data', addr: 0x3ffb0000, data: pattern(0x200, 2), flags: 3 },
      { name: '.dram0.bss', addr: 0x3ffb0200, nobitsSize: 0x400, flags: 3 },
      { name: '.iram0.vectors', addr: 0x40080000, data: pattern(0x400, 3), flags: 6 },
      { name: '.iram0.text', addr: 0x40080400, data: pattern(0x1000, 4), flags: 6 },
      { name: '.rtc.text', addr: 0x400c0000, data: pattern(0x20, 5), flags: 6 },
      { name: '.flash.text', addr: 0x400d0020, data: pattern(0xfff0, 6), flags: 6 },
      { name: '.comment', addr: 0, data: new TextEncoder().encode('GCC: synthetic\0'), flags: 0 },
    ],
  });
}

/** ESP32-S3: DROM at 0x3C..., IROM at 0x42..., RAM data bigger than the first alignment gap (split). */
export function esp32s3Elf(): Uint8Array {
  return buildElf32({
    machine: 94,
    entry: 0x40375000,
    sections: [
      { name: '.flash.appdesc', addr: 0x3c020020, data: desc('s3-synthetic') },
      { name: '.flash.rodata', addr: 0x3c020120, data: pattern(0x3000, 7) },
      { name: '.flash.text', addr: 0x42000020, data: pattern(0x5000, 8), flags: 6 },
      { name: '.iram0.text', addr: 0x40374000, data: pattern(0x9000, 9), flags: 6 },
      { name: '.dram0.data', addr: 0x3fc93000, data: pattern(0x12000, 10), flags: 3 },
    ],
  });
}

/** ESP32-C6 (RISC-V): DROM (0x428...) lies above IROM (0x420...), so the app desc is moved to the front. */
export function esp32c6Elf(): Uint8Array {
  return buildElf32({
    machine: 243,
    entry: 0x40800000,
    sections: [
      { name: '.flash.text', addr: 0x42000020, data: pattern(0x2000, 11), flags: 6 },
      { name: '.flash.appdesc', addr: 0x42810020, data: desc('c6-synthetic') },
      { name: '.flash.rodata', addr: 0x42810120, data: pattern(0x800, 12) },
      { name: '.iram0.text', addr: 0x40800000, data: pattern(0x600, 13), flags: 6 },
      { name: '.dram0.data', addr: 0x40810000, data: pattern(0x300, 14), flags: 3 },
    ],
  });
}

/** ESP32-S2 (Xtensa): DROM at 0x3F0..., IROM at 0x4008.... */
export function esp32s2Elf(): Uint8Array {
  return buildElf32({
    machine: 94,
    entry: 0x40022000,
    sections: [
      { name: '.flash.appdesc', addr: 0x3f000020, data: desc('s2-synthetic') },
      { name: '.flash.rodata', addr: 0x3f000120, data: pattern(0x700, 21) },
      { name: '.flash.text', addr: 0x40090020, data: pattern(0x1800, 22), flags: 6 },
      { name: '.iram0.text', addr: 0x40022000, data: pattern(0x900, 23), flags: 6 },
      { name: '.dram0.data', addr: 0x3ffb0000, data: pattern(0x180, 24), flags: 3 },
    ],
  });
}

/** ESP32-C2 (RISC-V). */
export function esp32c2Elf(): Uint8Array {
  return buildElf32({
    machine: 243,
    entry: 0x4037c000,
    sections: [
      { name: '.flash.appdesc', addr: 0x3c000020, data: desc('c2-synthetic') },
      { name: '.flash.text', addr: 0x42010020, data: pattern(0x1200, 31), flags: 6 },
      { name: '.iram0.text', addr: 0x4037c000, data: pattern(0x400, 32), flags: 6 },
      { name: '.dram0.data', addr: 0x3fca0000, data: pattern(0x80, 33), flags: 3 },
    ],
  });
}

/** ESP32-H2 (RISC-V, C6 memory map). */
export function esp32h2Elf(): Uint8Array {
  return buildElf32({
    machine: 243,
    entry: 0x40800000,
    sections: [
      { name: '.flash.text', addr: 0x42000020, data: pattern(0x1000, 41), flags: 6 },
      { name: '.flash.appdesc', addr: 0x42800020, data: desc('h2-synthetic') },
      { name: '.iram0.text', addr: 0x40800000, data: pattern(0x200, 42), flags: 6 },
      { name: '.dram0.data', addr: 0x40800200, data: pattern(0x100, 43), flags: 3 },
    ],
  });
}

/** ESP32-P4 (RISC-V): one 0x40000000–0x4C000000 window for IROM and DROM. */
export function esp32p4Elf(): Uint8Array {
  return buildElf32({
    machine: 243,
    entry: 0x4ff00000,
    sections: [
      { name: '.flash.text', addr: 0x40000020, data: pattern(0x1000, 51), flags: 6 },
      { name: '.flash.appdesc', addr: 0x40010020, data: desc('p4-synthetic') },
      { name: '.flash.rodata', addr: 0x40010120, data: pattern(0x300, 52) },
      { name: '.iram0.text', addr: 0x4ff00000, data: pattern(0x500, 53), flags: 6 },
      { name: '.dram0.data', addr: 0x4ff10000, data: pattern(0x100, 54), flags: 3 },
    ],
  });
}

/** An ESP32-C3 second-stage bootloader: RAM only, with a bootloader descriptor that esptool moves to the front. */
export function esp32c3BootloaderElf(): Uint8Array {
  const bootdesc = new Uint8Array(80);
  bootdesc[0] = 0x50;
  return buildElf32({
    machine: 243,
    entry: 0x403ce000,
    sections: [
      { name: '.iram_loader.text', addr: 0x403ce000, data: pattern(0x1a00, 61), flags: 6 },
      { name: '.iram.text', addr: 0x403c9000, data: pattern(0x800, 62), flags: 6 },
      { name: '.dram0.data', addr: 0x3fcd5000, data: pattern(0x200, 63), flags: 3 },
      { name: '.dram0.rodata', addr: 0x3fcd5200, data: pattern(0x900, 64), flags: 2 },
      { name: '.dram0.bootdesc', addr: 0x3fcd5c00, data: bootdesc, flags: 3 },
    ],
  });
}
