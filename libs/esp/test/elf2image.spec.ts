import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '@noble/hashes/sha2.js';
import {
  elfToAppImage,
  isFlashMapped,
  CHIPS,
  parseElf,
  readAppImage,
  sha256Hex,
  toHex,
  type AppImage,
  type ElfToImageOptions,
} from '../src/index.js';
import { buildElf32, pattern } from './elf-builder.js';
import {
  esp32Elf,
  esp32c2Elf,
  esp32c3BootloaderElf,
  esp32c6Elf,
  esp32h2Elf,
  esp32p4Elf,
  esp32s2Elf,
  esp32s3Elf,
} from './synthetic-elfs.js';
import { codeOf } from './error-code.js';

const FIXTURE = join(import.meta.dirname, 'fixtures', 'riscv-app');

/** Every loadable ELF section's bytes must appear at its address in the image's segments. */
function expectSectionsLoaded(elfBytes: Uint8Array, image: AppImage): void {
  const elf = parseElf(elfBytes);
  const wrong: string[] = [];
  for (const s of elf.sections.filter((x) => x.type === 1 && x.addr !== 0 && x.size > 0)) {
    for (let i = 0; i < s.size; i++) {
      // The app desc's app_elf_sha256 field is patched on purpose.
      if (s.name === '.flash.appdesc' && i >= 0x90 && i < 0xb0) continue;
      const addr = s.addr + i;
      const g = image.segments.find((x) => x.loadAddress <= addr && addr < x.loadAddress + x.data.length);
      if (!g || g.data[addr - g.loadAddress] !== s.data[i]) wrong.push(`${s.name}+${i}`);
    }
  }
  expect(wrong.slice(0, 5)).toEqual([]);
}

/** File offset of each segment's data, to check the 64 KiB MMU alignment of flash segments. */
function segmentFileOffsets(image: AppImage): number[] {
  let pos = 24;
  return image.segments.map((s) => {
    const at = pos + 8;
    pos += 8 + s.data.length;
    return at;
  });
}

describe('elfToAppImage against esptool 4.7.0 elf2image (same ELF, byte-identical output)', () => {
  // sha256 of the images esptool.py v4.7.0 wrote for these ELFs (Debian trixie package, run on this machine):
  //   esptool --chip C elf2image --flash_mode dio --flash_freq 40m --flash_size 4MB
  //   esptool --chip C elf2image --flash_mode qio --flash_freq 40m --flash_size 8MB --elf-sha256-offset 0xb0
  const cases: [string, () => Uint8Array, string, string][] = [
    [
      'esp32',
      esp32Elf,
      '4dd3457d122027adcd1a78b204d8c04bbb3c09fb7ce442ee3e02b561b1ac1a75',
      'e5f6a830555954b8cb6f9b82bf81f3b2baac800fdf5a5a52e1f90688b0ecd20b',
    ],
    [
      'esp32s3',
      esp32s3Elf,
      '43cec9b2f60126f6e542f22a874c8e0fd1c5edb9c067c1d0099855881a66d535',
      'ef9dcd84427e3446841b1294ad335af58b8cd681fad40bb28075467beced9cac',
    ],
    [
      'esp32c6',
      esp32c6Elf,
      '66021924e064f3ad7703e2d1704fd387fd9b924579e385672e6d1c17b92d83aa',
      '8cbd6d33f5991cd5d9981f04f83fa3f1898a5bdabd1b0155915c591f6503d884',
    ],
  ];
  for (const [chip, make, plain, withSha] of cases) {
    it(`${chip}: synthetic ELF`, () => {
      const elf = make();
      const a = elfToAppImage(elf, {
        chip: chip as ElfToImageOptions['chip'],
        flashMode: 'dio',
        flashFreq: '40m',
        flashSize: '4MB',
        elfSha256Offset: 'none',
      });
      expect(sha256Hex(a)).toBe(plain);
      const b = elfToAppImage(elf, {
        chip: chip as ElfToImageOptions['chip'],
        flashMode: 'qio',
        flashFreq: '40m',
        flashSize: '8MB',
        elfSha256Offset: 0xb0,
      });
      expect(sha256Hex(b)).toBe(withSha);
      // esptool 5's default ('auto') patches at 0xB0 when there is a .flash.appdesc in flash.
      const c = elfToAppImage(elf, {
        chip: chip as ElfToImageOptions['chip'],
        flashMode: 'qio',
        flashFreq: '40m',
        flashSize: '8MB',
      });
      expect(sha256Hex(c)).toBe(withSha);
    });
  }

  // esptool --chip C elf2image --flash_mode dio --flash_freq F --flash_size 4MB (esptool 4.7.0, no sha offset)
  const more: [ElfToImageOptions['chip'], () => Uint8Array, ElfToImageOptions['flashFreq'], string][] = [
    ['esp32s2', esp32s2Elf, '40m', 'f70e157f69b7b49942e3ff31fe9f797bf1c5ba49e40742b24e4d5e59b91d4feb'],
    ['esp32c2', esp32c2Elf, '60m', '62692052ede83179ad6070eda50ab81f052a23a4e4414ef44bafd4d3a9c3be1f'],
    ['esp32h2', esp32h2Elf, '48m', 'ff26243c4188521b73fdc501a17bd9b589283669829627083dceb79c6eace81e'],
    ['esp32p4', esp32p4Elf, '40m', '99002e6d2c6d9eaa7eaedb157f78e602e247e018b23d683d9028ff0cf257856a'],
    ['esp32c3', esp32c3BootloaderElf, '80m', '610bcdeb75e737f28874e5c5e6c57a6a0f903c13c5b352123886ddce23ac8a83'],
  ];
  for (const [chip, make, freq, expected] of more) {
    it(`${chip}: synthetic ${make.name}`, () => {
      const out = elfToAppImage(make(), {
        chip,
        flashMode: 'dio',
        flashFreq: freq,
        flashSize: '4MB',
        elfSha256Offset: 'none',
      });
      expect(sha256Hex(out)).toBe(expected);
    });
  }

  it('esp32c3: the committed gcc-built ELF', () => {
    const elf = new Uint8Array(readFileSync(join(FIXTURE, 'app.elf')));
    const opts = { chip: 'esp32c3', flashMode: 'dio', flashFreq: '80m', flashSize: '4MB' } as const;
    expect(sha256Hex(elfToAppImage(elf, { ...opts, elfSha256Offset: 'none' }))).toBe(
      'd8ae963ffb293cf2f24b56719378b3768806badaf32e4220ab34f01af29e9987',
    );
    expect(sha256Hex(elfToAppImage(elf, opts))).toBe(
      'd939c4e6ad9e34ed5d6477d7969781b2808ed2e60c5d6571157d481d0b7a59b6',
    );
  });
});

describe('elfToAppImage on synthetic Xtensa and RISC-V ELFs', () => {
  it('esp32: merges adjacent IRAM sections, pads IROM to its page, patches the ELF sha256', () => {
    const elf = esp32Elf();
    const img = readAppImage(
      elfToAppImage(elf, { chip: 'esp32', flashMode: 'dio', flashFreq: '40m', flashSize: '4MB' }),
    );
    expect(img.header.chipId).toBe(0);
    expect(img.header.entry).toBe(0x40080400);
    expect(img.checksum.valid).toBe(true);
    expect(img.sha256?.valid).toBe(true);
    expect(img.appDesc?.projectName).toBe('xtensa-synthetic');
    expect(img.appDesc?.elfSha256).toBe(toHex(sha256(elf)));
    const addrs = img.segments.map((s) => s.loadAddress);
    // .iram0.vectors + .iram0.text became one segment; a zero "padding" segment at address 0 precedes IROM.
    expect(addrs).toEqual([0x3f400020, 0x3ffb0000, 0x40080000, 0x400c0000, 0, 0x400d0020]);
    expect(img.segments[2].data.length).toBe(0x1400);
    // The ESP32 bootloader workaround: IROM grown so it ends >= 0x24 bytes into its last page.
    expect(img.segments[5].data.length).toBe(0xfff0 + 0x14);
    const offsets = segmentFileOffsets(img);
    img.segments.forEach((s, i) => {
      if (isFlashMapped(CHIPS.esp32, s.loadAddress)) expect(offsets[i] % 0x10000).toBe(s.loadAddress % 0x10000);
    });
    expectSectionsLoaded(elf, img);
  });

  it('esp32s3: splits a RAM segment to fill the gap before IROM', () => {
    const elf = esp32s3Elf();
    const img = readAppImage(
      elfToAppImage(elf, { chip: 'esp32s3', flashMode: 'dio', flashFreq: '80m', flashSize: '16MB' }),
    );
    expect(img.header.flashSize).toBe('16MB');
    expect(img.checksum.valid && img.sha256?.valid).toBe(true);
    expect(img.segments.map((s) => s.loadAddress)).toEqual([
      0x3c020020, 0x3fc93000, 0x42000020, 0x3fc9fef0, 0x40374000,
    ]);
    const offsets = segmentFileOffsets(img);
    expect(offsets[2] % 0x10000).toBe(0x20);
    expectSectionsLoaded(elf, img);
  });

  it('esp32c6: the app descriptor leads the image although DROM is above IROM', () => {
    const elf = esp32c6Elf();
    const img = readAppImage(
      elfToAppImage(elf, { chip: 'esp32c6', flashMode: 'dio', flashFreq: '80m', flashSize: '4MB' }),
    );
    expect(img.header.chipId).toBe(13);
    expect(img.header.flashFreq).toBe('80m');
    expect(img.segments[0].loadAddress).toBe(0x42810020);
    expect(img.appDesc?.projectName).toBe('c6-synthetic');
    expectSectionsLoaded(elf, img);
  });

  it('writes the chip id of every chip', () => {
    const ids = {
      esp32: 0,
      esp32s2: 2,
      esp32s3: 9,
      esp32c2: 12,
      esp32c3: 5,
      esp32c6: 13,
      esp32h2: 16,
      esp32p4: 18,
      esp32c5: 23,
    };
    for (const [chip, id] of Object.entries(ids)) {
      const info = CHIPS[chip as keyof typeof CHIPS];
      const elf = buildElf32({
        machine: info.architecture === 'xtensa' ? 94 : 243,
        entry: info.iromMap[0] + 0x20,
        sections: [{ name: '.flash.text', addr: info.iromMap[0] + 0x20, data: pattern(64, 3), flags: 6 }],
      });
      const freq = chip === 'esp32c2' ? '60m' : chip === 'esp32h2' ? '48m' : '40m';
      const img = readAppImage(
        elfToAppImage(elf, { chip: info.target, flashMode: 'dio', flashFreq: freq, flashSize: '4MB' }),
      );
      expect(img.header.chipId).toBe(id);
      expect(img.header.chip).toBe(chip);
      expect(img.checksum.valid && img.sha256?.valid).toBe(true);
    }
  });

  it('bootloader: RAM-only image with the bootloader descriptor first', () => {
    const img = readAppImage(
      elfToAppImage(esp32c3BootloaderElf(), { chip: 'esp32c3', flashMode: 'dio', flashFreq: '80m', flashSize: '4MB' }),
    );
    expect(img.segments[0].loadAddress).toBe(0x3fcd5c00);
    expect(img.segments[0].data[0]).toBe(0x50);
    expect(img.appDesc).toBeUndefined();
    expect(img.checksum.valid && img.sha256?.valid).toBe(true);
  });

  it('uses program headers with useSegments', () => {
    const elf = esp32c6Elf();
    const img = readAppImage(
      elfToAppImage(elf, { chip: 'esp32c6', flashMode: 'dio', flashFreq: '80m', flashSize: '4MB', useSegments: true }),
    );
    expect(img.checksum.valid).toBe(true);
    expectSectionsLoaded(elf, img);
  });

  it('refuses bad input with clear codes', () => {
    const base = {
      chip: 'esp32' as const,
      flashMode: 'dio' as const,
      flashFreq: '40m' as const,
      flashSize: '4MB' as const,
    };
    expect(codeOf(() => elfToAppImage(new Uint8Array([1, 2, 3, 4]), base))).toBe('bad_elf');
    expect(codeOf(() => elfToAppImage(esp32Elf().subarray(0, 40), base))).toBe('truncated');
    expect(codeOf(() => elfToAppImage(esp32Elf().subarray(0, 400), base))).toBe('truncated');
    const arm = esp32Elf();
    arm[18] = 40;
    expect(codeOf(() => elfToAppImage(arm, base))).toBe('unsupported_elf');
    const be = esp32Elf();
    be[5] = 2;
    expect(codeOf(() => elfToAppImage(be, base))).toBe('unsupported_elf');
    // A RISC-V ELF for an Xtensa chip.
    expect(codeOf(() => elfToAppImage(esp32c6Elf(), base))).toBe('bad_argument');
    // Two flash sections in one 64 KiB page.
    const clash = buildElf32({
      machine: 94,
      entry: 0x400d0020,
      sections: [
        { name: '.flash.text', addr: 0x400d0020, data: pattern(16, 1), flags: 6 },
        { name: '.flash.text2', addr: 0x400d8000, data: pattern(16, 2), flags: 6 },
      ],
    });
    expect(codeOf(() => elfToAppImage(clash, base))).toBe('segment_layout');
    // More than 16 separate regions.
    const many = buildElf32({
      machine: 94,
      entry: 0x40080000,
      sections: Array.from({ length: 17 }, (_, i) => ({
        name: `.iram${i}`,
        addr: 0x40080000 + i * 0x100,
        data: pattern(16, i + 1),
        flags: 6,
      })),
    });
    expect(codeOf(() => elfToAppImage(many, base))).toBe('too_many_segments');
    // Non-zero bytes where the ELF sha256 would go.
    expect(codeOf(() => elfToAppImage(esp32Elf(), { ...base, elfSha256Offset: 0x18 + 8 }))).toBe('segment_layout');
  });
});

describe('elfToAppImage on an ELF compiled here with riscv64-unknown-elf-gcc', () => {
  let dir: string;
  let elf: Uint8Array;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'esp-elf2image-'));
    const gcc = 'riscv64-unknown-elf-gcc';
    execFileSync(gcc, [
      '-march=rv32imc_zicsr',
      '-mabi=ilp32',
      '-Os',
      '-ffreestanding',
      '-ffunction-sections',
      '-fdata-sections',
      '-DAPP_VERSION="3.1.4"',
      '-c',
      join(FIXTURE, 'main.c'),
      '-o',
      join(dir, 'main.o'),
    ]);
    execFileSync(gcc, [
      '-march=rv32imc',
      '-mabi=ilp32',
      '-nostdlib',
      '-T',
      join(FIXTURE, 'app.ld'),
      '-Wl,--gc-sections',
      join(dir, 'main.o'),
      '-lgcc',
      '-o',
      join(dir, 'app.elf'),
    ]);
    elf = new Uint8Array(readFileSync(join(dir, 'app.elf')));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('parses the ELF', () => {
    const parsed = parseElf(elf);
    expect(parsed.machine).toBe('riscv');
    expect(parsed.sections.map((s) => s.name)).toEqual(
      expect.arrayContaining(['.flash.appdesc', '.flash.rodata', '.flash.text', '.iram0.text', '.dram0.data']),
    );
  });

  it('makes an esp32c3 image with valid checksum, sha256, app desc and MMU-aligned flash segments', () => {
    const bytes = elfToAppImage(elf, { chip: 'esp32c3', flashMode: 'dio', flashFreq: '80m', flashSize: '4MB' });
    const img = readAppImage(bytes);
    expect(img.header.chip).toBe('esp32c3');
    expect(img.header.entry).toBe(parseElf(elf).entry);
    expect(img.header.maxRevision).toBe(0xffff);
    expect(img.checksum.valid).toBe(true);
    expect(img.sha256?.valid).toBe(true);
    expect(img.size).toBe(bytes.length);
    expect(img.appDesc?.version).toBe('3.1.4');
    expect(img.appDesc?.projectName).toBe('elf2image-test');
    expect(img.appDesc?.elfSha256).toBe(sha256Hex(elf));
    const offsets = segmentFileOffsets(img);
    img.segments.forEach((s, i) => {
      if (isFlashMapped(CHIPS.esp32c3, s.loadAddress)) expect(offsets[i] % 0x10000).toBe(s.loadAddress % 0x10000);
    });
    expectSectionsLoaded(elf, img);
  });
});
