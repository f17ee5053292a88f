import { md5 } from '@noble/hashes/legacy.js';
import { describe, expect, it } from 'vitest';
import {
  bootAppPartition,
  parsePartitionBinary,
  parsePartitionCsv,
  partitionsToBinary,
  partitionsToCsv,
  type Partition,
} from '../src/index.js';
import { realFile } from './real-data.js';
import { codeOf } from './error-code.js';

// ESP-IDF's components/partition_table/partitions_singleapp.csv
const SINGLE_APP = `# Name,   Type, SubType, Offset,  Size, Flags
# Note: if you have increased the bootloader size, make sure to update the offsets to avoid overlap
nvs,      data, nvs,     ,        0x6000,
phy_init, data, phy,     ,        0x1000,
factory,  app,  factory, ,        1M,
`;

// ESP-IDF's components/partition_table/partitions_two_ota.csv
const TWO_OTA = `# Name,   Type, SubType, Offset,   Size, Flags
nvs,      data, nvs,     ,        0x4000,
otadata,  data, ota,     ,        0x2000,
phy_init, data, phy,     ,        0x1000,
factory,  app,  factory, ,        1M,
ota_0,    app,  ota_0,   ,        1M,
ota_1,    app,  ota_1,   ,        1M,
`;

const p = (
  name: string,
  type: number,
  subtype: number,
  offset: number,
  size: number,
  flags: Partial<Partition> = {},
): Partition => ({
  name,
  type,
  subtype,
  offset,
  size,
  encrypted: false,
  readonly: false,
  ...flags,
});

describe('partition table from real ESP-IDF builds', () => {
  for (const build of ['136446529__ESP32-BMP180', '203Null__esp32-microlight']) {
    it(`${build}: parses with a valid MD5 and equals the single-app CSV written by us`, () => {
      const bin = realFile(build, 'build', 'partition_table', 'partition-table.bin');
      expect(bin.length).toBe(0xc00);
      const { partitions, md5Valid } = parsePartitionBinary(bin);
      expect(md5Valid).toBe(true);
      expect(partitions).toEqual([
        p('nvs', 1, 2, 0x9000, 0x6000),
        p('phy_init', 1, 1, 0xf000, 0x1000),
        p('factory', 0, 0, 0x10000, 0x100000),
      ]);
      // gen_esp32part.py output, reproduced byte for byte from ESP-IDF's own CSV.
      expect(Buffer.from(partitionsToBinary(parsePartitionCsv(SINGLE_APP))).equals(Buffer.from(bin))).toBe(true);
      expect(Buffer.from(partitionsToBinary(partitions)).equals(Buffer.from(bin))).toBe(true);
    });
  }
});

describe('parsePartitionCsv (gen_esp32part.py rules)', () => {
  it('allocates offsets: 4 KiB for data, 64 KiB for apps, after the table sector', () => {
    expect(parsePartitionCsv(TWO_OTA)).toEqual([
      p('nvs', 1, 2, 0x9000, 0x4000),
      p('otadata', 1, 0, 0xd000, 0x2000),
      p('phy_init', 1, 1, 0xf000, 0x1000),
      p('factory', 0, 0, 0x10000, 0x100000),
      p('ota_0', 0, 0x10, 0x110000, 0x100000),
      p('ota_1', 0, 0x11, 0x210000, 0x100000),
    ]);
  });

  it('moves the first offset with a custom table offset', () => {
    expect(parsePartitionCsv(SINGLE_APP, 0xa000)[0].offset).toBe(0xb000);
  });

  it('accepts numbers, K/M sizes, numeric types and flags', () => {
    const parts = parsePartitionCsv(`
storage, data, spiffs, 0x110000, 960K, readonly
keys, 0x40, 0x01, , 4k, encrypted:readonly
blob, data, , , 0x1000
fat, data, fat, , 1M
`);
    expect(parts).toEqual([
      p('storage', 1, 0x82, 0x110000, 960 * 1024, { readonly: true }),
      p('keys', 0x40, 0x01, 0x200000, 0x1000, { encrypted: true, readonly: true }),
      p('blob', 1, 0x06, 0x201000, 0x1000),
      p('fat', 1, 0x81, 0x202000, 0x100000),
    ]);
  });

  it('round-trips CSV → binary → CSV → binary', () => {
    const parts = parsePartitionCsv(TWO_OTA);
    const bin = partitionsToBinary(parts);
    const csv = partitionsToCsv(parsePartitionBinary(bin).partitions);
    expect(csv).toContain('ota_0,app,ota_0,0x110000,1M,');
    expect(csv).toContain('otadata,data,ota,0xd000,8K,');
    expect(parsePartitionCsv(csv)).toEqual(parts);
    expect(Buffer.from(partitionsToBinary(parsePartitionCsv(csv))).equals(Buffer.from(bin))).toBe(true);
  });

  it('writes the documented binary layout', () => {
    const bin = partitionsToBinary(parsePartitionCsv('nvs, data, nvs, 0x9000, 0x6000, encrypted\n'));
    expect(Array.from(bin.subarray(0, 4))).toEqual([0xaa, 0x50, 0x01, 0x02]);
    const dv = new DataView(bin.buffer);
    expect(dv.getUint32(4, true)).toBe(0x9000);
    expect(dv.getUint32(8, true)).toBe(0x6000);
    expect(new TextDecoder().decode(bin.subarray(12, 15))).toBe('nvs');
    expect(bin[15]).toBe(0);
    expect(dv.getUint32(28, true)).toBe(1);
    expect(Array.from(bin.subarray(32, 48))).toEqual([0xeb, 0xeb, ...new Array(14).fill(0xff)]);
    expect(Array.from(bin.subarray(48, 64))).toEqual(Array.from(md5(bin.subarray(0, 32))));
    expect(bin.subarray(64).every((b) => b === 0xff)).toBe(true);
    expect(bin.length).toBe(0xc00);
  });

  it('finds the app the bootloader starts', () => {
    expect(bootAppPartition(parsePartitionCsv(TWO_OTA))?.name).toBe('factory');
    expect(bootAppPartition(parsePartitionCsv('ota_0, app, ota_0, 0x10000, 1M\n'))?.name).toBe('ota_0');
  });

  it('rejects bad CSVs with clear errors', () => {
    expect(codeOf(() => parsePartitionCsv('nvs, , nvs, , 0x6000\n'))).toBe('bad_csv');
    expect(codeOf(() => parsePartitionCsv('nvs, data, nvs, ,\n'))).toBe('bad_csv');
    expect(codeOf(() => parsePartitionCsv('nvs, data, nvsx, , 0x6000\n'))).toBe('bad_csv');
    expect(codeOf(() => parsePartitionCsv('f, app, , , 1M\n'))).toBe('bad_csv');
    expect(codeOf(() => parsePartitionCsv('nvs, data, nvs, , 0x6000, shiny\n'))).toBe('bad_csv');
    expect(codeOf(() => parsePartitionCsv('nvs, data, nvs, 0x8000, 0x6000\n'))).toBe('partition_overlap');
    expect(codeOf(() => parsePartitionCsv('a, data, nvs, , 0x6000\nb, data, nvs, 0xa000, 0x1000\n'))).toBe(
      'partition_overlap',
    );
    expect(codeOf(() => parsePartitionCsv('f, app, factory, 0x11000, 1M\n'))).toBe('bad_partition');
    expect(codeOf(() => parsePartitionCsv('a, data, nvs, , 0x1000\na, data, nvs, , 0x1000\n'))).toBe('bad_partition');
    expect(codeOf(() => parsePartitionCsv('averyveryverylongname, data, nvs, , 0x1000\n'))).toBe('bad_partition');
    expect(codeOf(() => parsePartitionCsv('o1, data, ota, , 0x2000\no2, data, ota, , 0x2000\n'))).toBe('bad_partition');
    try {
      parsePartitionCsv('\n\nnvs, data, nvsx, , 0x6000\n');
    } catch (e) {
      expect((e as Error).message).toMatch(/^Line 3:/);
    }
  });

  it('rejects a corrupt binary and reports a bad MD5', () => {
    const bin = partitionsToBinary(parsePartitionCsv(SINGLE_APP));
    const badMagic = bin.slice();
    badMagic[0] = 0x12;
    expect(codeOf(() => parsePartitionBinary(badMagic))).toBe('bad_magic');
    const flipped = bin.slice();
    flipped[8] ^= 1;
    expect(parsePartitionBinary(flipped).md5Valid).toBe(false);
    expect(
      parsePartitionBinary(partitionsToBinary(parsePartitionCsv(SINGLE_APP), { md5: false })).md5Valid,
    ).toBeUndefined();
    expect(codeOf(() => parsePartitionBinary(new Uint8Array(10)))).toBe('truncated');
  });
});
