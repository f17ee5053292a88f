import { describe, expect, it } from 'vitest';
import {
  EspFormatError,
  SINGLE_APP_PARTITIONS_CSV,
  parsePartitionBinary,
  parsePartitionCsv,
  partitionsToBinary,
  readAppImage,
  updateImageFlashParams,
} from '../src/index.js';
import { realFile } from './real-data.js';

describe('updateImageFlashParams (esptool write_flash header update)', () => {
  it('rewrites mode/freq/size of the real esp32s3 bootloader and keeps it valid', () => {
    const boot = realFile('203Null__esp32-microlight', 'build', 'bootloader', 'bootloader.bin');
    const before = readAppImage(boot);
    const out = updateImageFlashParams(boot, { flashMode: 'qio', flashFreq: '40m', flashSize: '8MB' });
    const after = readAppImage(out);
    expect(after.header).toMatchObject({ flashMode: 'qio', flashFreq: '40m', flashSize: '8MB' });
    expect(after.checksum.valid && after.sha256?.valid).toBe(true);
    expect(after.segments).toEqual(before.segments);
    expect(readAppImage(boot).header.flashMode).toBe(before.header.flashMode);
    const kept = readAppImage(
      updateImageFlashParams(boot, { flashMode: 'keep', flashFreq: 'keep', flashSize: 'detect' }),
    );
    expect(kept.header).toEqual(before.header);
  });

  it('refuses a corrupt image', () => {
    const boot = realFile('136446529__ESP32-BMP180', 'build', 'bootloader', 'bootloader.bin').slice();
    boot[4] ^= 1;
    expect(() => updateImageFlashParams(boot, { flashSize: '4MB' })).toThrow(EspFormatError);
  });
});

describe('SINGLE_APP_PARTITIONS_CSV', () => {
  it('is the table ESP-IDF wrote for the real builds', () => {
    const real = realFile('136446529__ESP32-BMP180', 'build', 'partition_table', 'partition-table.bin');
    expect(
      Buffer.from(partitionsToBinary(parsePartitionCsv(SINGLE_APP_PARTITIONS_CSV))).equals(Buffer.from(real)),
    ).toBe(true);
    expect(parsePartitionBinary(real).md5Valid).toBe(true);
  });
});
