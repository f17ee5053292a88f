import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { realIdfStore } from '@aegis/testkit/idf-store';
import {
  elfToAppImage,
  readAppDesc,
  readAppImage,
  readBootloaderDesc,
  writeAppDesc,
  writeBootloaderDesc,
  type ElfToImageOptions,
} from '../src/index.js';
import { buildElf32, pattern } from './elf-builder.js';
import { codeOf } from './error-code.js';

/**
 * An ESP32-C6/H2 app linked for 32 KB MMU pages (CONFIG_MMU_PAGE_SIZE_32KB): two flash text sections in one
 * 64 KB page but on different 32 KB pages. With the 64 KB default this layout is refused; with 32 KB it is
 * what ESP-IDF builds and esptool converts.
 */
function app32k(name: string): Uint8Array {
  return buildElf32({
    machine: 243,
    entry: 0x40800000,
    sections: [
      { name: '.flash.text', addr: 0x42000020, data: pattern(0x6000, 21), flags: 6 },
      { name: '.flash.text.late', addr: 0x42008020, data: pattern(0x800, 22), flags: 6 },
      {
        name: '.flash.appdesc',
        addr: 0x42810020,
        data: writeAppDesc({
          version: '1.0.0',
          projectName: name,
          idfVersion: 'v5.3.1',
          minEfuseBlkRevFull: 0,
          maxEfuseBlkRevFull: 99,
          mmuPageSize: 0x8000,
        }),
      },
      { name: '.flash.rodata', addr: 0x42810120, data: pattern(0x1800, 23) },
      { name: '.iram0.text', addr: 0x40800000, data: pattern(0x9000, 24), flags: 6 },
      { name: '.dram0.data', addr: 0x40812000, data: pattern(0x300, 25), flags: 3 },
    ],
  });
}

const python = () => join(realIdfStore(), 'idf', '5.1.6', 'python_env', 'bin', 'python');
let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'esp-mmu-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** esptool 4.8.1 (the ESP-IDF kit's) elf2image on the same ELF. */
function esptoolElf2image(chip: string, elf: Uint8Array, freq: string, extra: string[]): Uint8Array {
  const input = join(dir, `${chip}-${extra.length}.elf`);
  const output = `${input}.bin`;
  writeFileSync(input, elf);
  execFileSync(
    python(),
    ['-m', 'esptool', '--chip', chip, 'elf2image', '--flash_mode', 'dio', '--flash_freq', freq, '--flash_size', '4MB']
      .concat(extra)
      .concat(['-o', output, input]),
    { stdio: 'pipe' },
  );
  return new Uint8Array(readFileSync(output));
}

describe('elfToAppImage with a 32 KB flash MMU page, against esptool 4.8.1 elf2image', () => {
  it.each([
    ['esp32c6', '80m'],
    ['esp32h2', '48m'],
  ] as const)('%s: byte for byte equal, with and without the ELF SHA-256', (chip, freq) => {
    const elf = app32k(`${chip}-32k`);
    const base = { chip, flashMode: 'dio', flashFreq: freq, flashSize: '4MB' } as ElfToImageOptions;
    // The 64 KB default refuses the layout, naming the option.
    expect(codeOf(() => elfToAppImage(elf, { ...base, mmuPageSize: 0x10000 }))).toBe('segment_layout');

    const plain = esptoolElf2image(chip, elf, freq, ['--flash-mmu-page-size', '32KB']);
    expect(elfToAppImage(elf, { ...base, mmuPageSize: 0x8000, elfSha256Offset: 'none' })).toEqual(plain);
    const withSha = esptoolElf2image(chip, elf, freq, ['--flash-mmu-page-size', '32KB', '--elf-sha256-offset', '0xb0']);
    // 'auto' takes the page size from the app descriptor and patches the SHA-256 like ESP-IDF's build.
    const ours = elfToAppImage(elf, base);
    expect(ours).toEqual(withSha);

    const img = readAppImage(ours);
    expect(img.checksum.valid).toBe(true);
    expect(img.appDesc).toMatchObject({ mmuPageSize: 0x8000, minEfuseBlkRevFull: 0, maxEfuseBlkRevFull: 99 });
  });

  it('refuses a page size the chip does not have', () => {
    const elf = app32k('x');
    const base = { flashMode: 'dio', flashFreq: '80m', flashSize: '4MB' } as const;
    expect(codeOf(() => elfToAppImage(elf, { ...base, chip: 'esp32c6', mmuPageSize: 0x1000 }))).toBe('bad_argument');
    expect(codeOf(() => elfToAppImage(elf, { ...base, chip: 'esp32c2', mmuPageSize: 0x2000 }))).toBe('bad_argument');
  });
});

describe('descriptors', () => {
  it('esp_app_desc_t: the ESP-IDF 5.2+/5.3+ fields round-trip; 0 means unset', () => {
    const d = writeAppDesc({
      version: '1',
      projectName: 'p',
      idfVersion: 'v5.3',
      minEfuseBlkRevFull: 1,
      maxEfuseBlkRevFull: 199,
      mmuPageSize: 0x4000,
    });
    expect([d[176], d[177], d[178], d[179], d[180]]).toEqual([1, 0, 199, 0, 14]);
    expect(readAppDesc(d)).toMatchObject({ minEfuseBlkRevFull: 1, maxEfuseBlkRevFull: 199, mmuPageSize: 0x4000 });
    expect(readAppDesc(writeAppDesc({ version: '1', projectName: 'p', idfVersion: 'v5.1' }))?.mmuPageSize).toBe(
      undefined,
    );
    expect(codeOf(() => writeAppDesc({ version: '1', projectName: 'p', idfVersion: 'v5.3', mmuPageSize: 3000 }))).toBe(
      'bad_argument',
    );
  });

  it('esp_bootloader_desc_t: magic byte 80, version, IDF version, build time', () => {
    const d = writeBootloaderDesc({ version: 3, idfVersion: 'v5.3.1', dateTime: 'Jun  3 2024 10:00:00' });
    expect(d.length).toBe(80);
    expect(readBootloaderDesc(d)).toEqual({ version: 3, idfVersion: 'v5.3.1', dateTime: 'Jun  3 2024 10:00:00' });
    expect(readBootloaderDesc(new Uint8Array(80))).toBeUndefined();
  });
});
