import { describe, expect, it } from 'vitest';
import {
  EspFormatError,
  readAppImage,
  readBootloaderImage,
  writeAppImage,
  writeAppDesc,
  readAppDesc,
  xorChecksum,
  type AppImageSpec,
} from '../src/index.js';
import { realFile } from './real-data.js';
import { codeOf } from './error-code.js';

describe('readAppImage on real ESP-IDF output', () => {
  it('reads the ESP-IDF v4.0.1 esp32 app: header, segments, checksum, sha256, app desc', () => {
    const bytes = realFile('136446529__ESP32-BMP180', 'build', 'ESP32-BMP180.bin');
    const img = readAppImage(bytes);
    expect(img.header.magic).toBe(0xe9);
    expect(img.header.chipId).toBe(0);
    expect(img.header.chip).toBe('esp32');
    expect(img.header.flashMode).toBe('dio');
    expect(img.header.flashFreq).toBe('40m');
    expect(img.header.hashAppended).toBe(true);
    expect(img.segments.length).toBe(img.header.segmentCount);
    expect(img.checksum.valid).toBe(true);
    expect(img.sha256?.valid).toBe(true);
    expect(img.size).toBe(bytes.length);
    expect(img.appDesc?.magicWord).toBe(0xabcd5432);
    expect(img.appDesc?.projectName).toBe('ESP32-BMP180');
    expect(img.appDesc?.idfVersion).toBe('v4.0.1');
    expect(img.appDesc?.elfSha256).toMatch(/^[0-9a-f]{64}$/);
    // First segment is the DROM (flash-mapped rodata) where esp_app_desc_t lives.
    expect(img.segments[0].loadAddress).toBeGreaterThanOrEqual(0x3f400000);
    expect(img.segments[0].loadAddress).toBeLessThan(0x3f800000);
    // The entry point is in IRAM.
    expect(img.header.entry).toBeGreaterThanOrEqual(0x40080000);
  });

  it('reads the esp32s3 app and bootloader (IDF v4.4-dev)', () => {
    const app = readAppImage(realFile('203Null__esp32-microlight', 'build', 'main.bin'));
    expect(app.header.chip).toBe('esp32s3');
    expect(app.header.chipId).toBe(9);
    expect(app.header.flashSize).toBe('2MB');
    expect(app.header.flashFreq).toBe('80m');
    expect(app.checksum.valid && app.sha256?.valid).toBe(true);
    expect(app.appDesc?.projectName).toBe('main');
    expect(app.appDesc?.idfVersion).toContain('v4.4');
    const boot = readBootloaderImage(realFile('203Null__esp32-microlight', 'build', 'bootloader', 'bootloader.bin'));
    expect(boot.header.chip).toBe('esp32s3');
    expect(boot.checksum.valid && boot.sha256?.valid).toBe(true);
    expect(boot.appDesc).toBeUndefined();
  });

  it('reads the esp32 bootloader', () => {
    const boot = readBootloaderImage(realFile('136446529__ESP32-BMP180', 'build', 'bootloader', 'bootloader.bin'));
    expect(boot.header.chip).toBe('esp32');
    expect(boot.checksum.valid).toBe(true);
    expect(boot.sha256?.valid).toBe(true);
    expect(boot.appDesc).toBeUndefined();
  });

  it('re-writing the parsed real images gives the same bytes', () => {
    for (const path of [
      ['136446529__ESP32-BMP180', 'build', 'ESP32-BMP180.bin'],
      ['203Null__esp32-microlight', 'build', 'main.bin'],
      ['203Null__esp32-microlight', 'build', 'bootloader', 'bootloader.bin'],
      ['136446529__ESP32-BMP180', 'build', 'bootloader', 'bootloader.bin'],
    ]) {
      const bytes = realFile(...path);
      const img = readAppImage(bytes);
      const again = writeAppImage({
        chip: img.header.chip!,
        flashMode: img.header.flashMode,
        flashFreq: img.header.flashFreq,
        flashSize: img.header.flashSize,
        entry: img.header.entry,
        segments: img.segments,
        minRevision: img.header.minRevision,
        maxRevision: img.header.maxRevision,
        legacyMinRevision: img.header.legacyMinRevision,
        hashAppended: img.header.hashAppended,
        wpPin: img.header.wpPin,
      });
      // Bytes 9..11 (SPI pin drive) and the reserved bytes are zero in ESP-IDF output, so a rewrite is exact.
      expect(Buffer.from(again).equals(Buffer.from(bytes.subarray(0, img.size)))).toBe(true);
    }
  });
});

describe('writeAppImage', () => {
  const desc = writeAppDesc({
    version: '1.2.3',
    projectName: 'hello',
    idfVersion: 'test-1.0',
    time: '10:00:00',
    date: 'Nov 25 2026',
  });
  const spec: AppImageSpec = {
    chip: 'esp32c3',
    flashMode: 'dio',
    flashFreq: '80m',
    flashSize: '4MB',
    entry: 0x40380080,
    segments: [
      { loadAddress: 0x3c000020, data: desc },
      { loadAddress: 0x3fc90000, data: new Uint8Array([1, 2, 3, 4, 5, 6]) },
    ],
    minRevision: 3,
    maxRevision: 199,
  };

  it('writes an image that reads back field by field', () => {
    const bytes = writeAppImage(spec);
    const img = readAppImage(bytes);
    expect(img.header).toEqual({
      magic: 0xe9,
      segmentCount: 2,
      flashMode: 'dio',
      flashFreq: '80m',
      flashSize: '4MB',
      entry: 0x40380080,
      wpPin: 0xee,
      chipId: 5,
      chip: 'esp32c3',
      legacyMinRevision: 0,
      minRevision: 3,
      maxRevision: 199,
      hashAppended: true,
    });
    expect(img.segments[0]).toEqual({ loadAddress: 0x3c000020, data: desc });
    // Segment data is padded to 4 bytes with zeros.
    expect(Array.from(img.segments[1].data)).toEqual([1, 2, 3, 4, 5, 6, 0, 0]);
    expect(img.checksum).toEqual({
      stored: img.checksum.computed,
      computed: xorChecksum(img.segments.map((s) => s.data)),
      valid: true,
    });
    expect(img.sha256?.valid).toBe(true);
    expect(img.size).toBe(bytes.length);
    expect((bytes.length - 32) % 16).toBe(0);
    expect(img.appDesc).toEqual({
      magicWord: 0xabcd5432,
      secureVersion: 0,
      version: '1.2.3',
      projectName: 'hello',
      time: '10:00:00',
      date: 'Nov 25 2026',
      idfVersion: 'test-1.0',
      elfSha256: '0'.repeat(64),
      minEfuseBlkRevFull: 0,
      maxEfuseBlkRevFull: 0,
    });
    // Byte-level layout from the format documentation.
    expect(bytes[1]).toBe(2);
    expect(bytes[2]).toBe(2); // dio
    expect(bytes[3]).toBe(0x2f); // 4MB | 80m
    expect(bytes[12] | (bytes[13] << 8)).toBe(5);
    expect(bytes[23]).toBe(1);
  });

  it('writes without the hash when asked', () => {
    const img = readAppImage(writeAppImage({ ...spec, hashAppended: false }));
    expect(img.header.hashAppended).toBe(false);
    expect(img.sha256).toBeUndefined();
    expect(img.checksum.valid).toBe(true);
  });

  it('encodes per-chip flash frequencies and refuses ones the chip lacks', () => {
    expect(readAppImage(writeAppImage({ ...spec, chip: 'esp32c2', flashFreq: '60m' })).header.flashFreq).toBe('60m');
    expect(readAppImage(writeAppImage({ ...spec, chip: 'esp32h2', flashFreq: '48m' })).header.flashFreq).toBe('48m');
    expect(readAppImage(writeAppImage({ ...spec, chip: 'esp32', flashFreq: '26m' })).header.flashFreq).toBe('26m');
    expect(codeOf(() => writeAppImage({ ...spec, chip: 'esp32c2', flashFreq: '80m' }))).toBe('bad_argument');
    expect(codeOf(() => writeAppImage({ ...spec, flashSize: 'detect' }))).toBe('bad_argument');
    expect(codeOf(() => writeAppImage({ ...spec, flashMode: 'keep' }))).toBe('bad_argument');
  });

  it('refuses more than 16 segments', () => {
    const segments = Array.from({ length: 17 }, (_, i) => ({
      loadAddress: 0x3fc90000 + i * 16,
      data: new Uint8Array(4),
    }));
    expect(codeOf(() => writeAppImage({ ...spec, segments }))).toBe('too_many_segments');
  });
});

describe('corrupt images', () => {
  const good = writeAppImage({
    chip: 'esp32s3',
    flashMode: 'qio',
    flashFreq: '80m',
    flashSize: '8MB',
    entry: 0x40375000,
    segments: [{ loadAddress: 0x3fc90000, data: new Uint8Array(64).fill(7) }],
  });

  it('bad magic', () => {
    const b = good.slice();
    b[0] = 0x7f;
    expect(codeOf(() => readAppImage(b))).toBe('bad_magic');
  });

  it('truncated header, segment, checksum and hash', () => {
    expect(codeOf(() => readAppImage(good.subarray(0, 10)))).toBe('truncated');
    expect(codeOf(() => readAppImage(good.subarray(0, 40)))).toBe('truncated');
    expect(codeOf(() => readAppImage(good.subarray(0, 24 + 8 + 64)))).toBe('truncated');
    expect(codeOf(() => readAppImage(good.subarray(0, good.length - 1)))).toBe('truncated');
  });

  it('a flipped data bit fails checksum and sha256 but still parses', () => {
    const b = good.slice();
    b[24 + 8 + 3] ^= 0x10;
    const img = readAppImage(b);
    expect(img.checksum.valid).toBe(false);
    expect(img.sha256?.valid).toBe(false);
  });

  it('a flipped header bit fails only the sha256', () => {
    const b = good.slice();
    b[4] ^= 0x01;
    const img = readAppImage(b);
    expect(img.checksum.valid).toBe(true);
    expect(img.sha256?.valid).toBe(false);
  });

  it('too many segments, bad hash flag, unknown flash mode', () => {
    const b = good.slice();
    b[1] = 17;
    expect(codeOf(() => readAppImage(b))).toBe('too_many_segments');
    const c = good.slice();
    c[23] = 2;
    expect(codeOf(() => readAppImage(c))).toBe('bad_header');
    const d = good.slice();
    d[2] = 9;
    expect(codeOf(() => readAppImage(d))).toBe('bad_header');
  });

  it('errors carry a sentence a person can act on', () => {
    try {
      readAppImage(new Uint8Array(30));
    } catch (e) {
      expect(e).toBeInstanceOf(EspFormatError);
      expect((e as EspFormatError).message).toMatch(/expected 0xe9/);
    }
    expect(readAppDesc(new Uint8Array(256))).toBeUndefined();
  });
});
