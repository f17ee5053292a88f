import { describe, expect, it } from 'vitest';
import { FlashBundleManifest } from '@aegis/protocol';
import {
  buildBundleManifest,
  encodeManifest,
  flasherArgsToParts,
  parseFlasherArgs,
  readAppImage,
  sha256Hex,
} from '../src/index.js';
import { buildDirFiles, realText } from './real-data.js';
import { codeOf } from './error-code.js';

const BMP = '136446529__ESP32-BMP180';
const MICRO = '203Null__esp32-microlight';
const args = (b: string) => realText(b, 'build', 'flasher_args.json');
const desc = (b: string) => realText(b, 'build', 'project_description.json');

describe('flasher_args.json on real builds', () => {
  it('old format (IDF 4.0: partition_table key, no chip): offsets from the file', () => {
    const parsed = parseFlasherArgs(args(BMP));
    expect(parsed.chip).toBeUndefined();
    expect(parsed.flashSize).toBe('detect');
    expect(parsed.entries.map((e) => [e.name, e.offset, e.path])).toEqual([
      ['bootloader', 0x1000, 'bootloader/bootloader.bin'],
      ['partition-table', 0x8000, 'partition_table/partition-table.bin'],
      ['app', 0x10000, 'ESP32-BMP180.bin'],
    ]);
    const parts = flasherArgsToParts(args(BMP), buildDirFiles(BMP));
    expect(parts.map((p) => p.data.length)).toEqual([25344, 3072, 163968]);
  });

  it('newer format (IDF 4.4: chip in extra_esptool_args, bootloader at 0x0)', () => {
    const parsed = parseFlasherArgs(JSON.parse(args(MICRO)));
    expect(parsed.chip).toBe('esp32s3');
    expect(parsed.flashFreq).toBe('80m');
    expect(parsed.entries.map((e) => [e.name, e.offset])).toEqual([
      ['bootloader', 0x0],
      ['partition-table', 0x8000],
      ['app', 0x10000],
    ]);
  });

  it('builds the bundle manifest for the esp32 build: chip and flash size read from the images', () => {
    const { manifest, files } = buildBundleManifest({
      flasherArgs: args(BMP),
      projectDescription: desc(BMP),
      files: buildDirFiles(BMP),
      createdAt: new Date('2026-11-25T10:00:00Z'),
      jobId: 'job-1',
      machineId: 'm-1',
    });
    expect(FlashBundleManifest.parse(manifest)).toEqual(manifest);
    expect(manifest.chip).toBe('esp32');
    expect(manifest.project).toBe('ESP32-BMP180');
    expect(manifest.idf_version).toBe('v4.0.1');
    expect(manifest.flash).toEqual({ mode: 'dio', freq: '40m', size: readAppImage(files[0].bytes).header.flashSize });
    expect(manifest.flash.size).not.toBe('detect');
    expect(manifest.created_at).toBe('2026-11-25T10:00:00.000Z');
    expect(manifest.job_id).toBe('job-1');
    expect(manifest.parts.map((p) => [p.name, p.offset, p.file])).toEqual([
      ['bootloader', 0x1000, 'files/bootloader/bootloader.bin'],
      ['partition-table', 0x8000, 'files/partition_table/partition-table.bin'],
      ['app', 0x10000, 'files/ESP32-BMP180.bin'],
    ]);
    files.forEach((f, i) => {
      expect(f.path).toBe(manifest.parts[i].file);
      expect(manifest.parts[i].size).toBe(f.bytes.length);
      expect(manifest.parts[i].sha256).toBe(sha256Hex(f.bytes));
    });
  });

  it('builds the bundle manifest for the esp32s3 build: detect → 2MB from the image header', () => {
    const { manifest } = buildBundleManifest({
      flasherArgs: args(MICRO),
      projectDescription: JSON.parse(desc(MICRO)),
      files: buildDirFiles(MICRO),
      createdAt: '2026-11-25T10:00:00.000Z',
    });
    expect(manifest.chip).toBe('esp32s3');
    expect(manifest.flash).toEqual({ mode: 'dio', freq: '80m', size: '2MB' });
    expect(manifest.idf_version).toBe('v4.4-dev-3235-g3e370c4296-dirty');
    expect(manifest.parts[0]).toMatchObject({ name: 'bootloader', offset: 0 });
    const text = new TextDecoder().decode(encodeManifest(manifest));
    expect(JSON.parse(text)).toEqual(manifest);
  });

  it('without project_description.json, takes project and IDF version from the app descriptor', () => {
    const { manifest } = buildBundleManifest({
      flasherArgs: args(BMP),
      files: buildDirFiles(BMP),
      createdAt: new Date(0),
    });
    expect(manifest.project).toBe('ESP32-BMP180');
    expect(manifest.idf_version).toBe('v4.0.1');
    expect(manifest.chip).toBe('esp32');
  });

  it('refuses what it cannot bundle', () => {
    const files = buildDirFiles(BMP);
    const base = { flasherArgs: args(BMP), files, createdAt: new Date(0) };
    expect(
      codeOf(() =>
        buildBundleManifest({ ...base, files: (p) => (p.endsWith('.bin') && !p.includes('/') ? undefined : files(p)) }),
      ),
    ).toBe('missing_file');
    expect(codeOf(() => buildBundleManifest({ ...base, chip: 'esp32c3' }))).toBe('bad_image');
    expect(
      codeOf(() =>
        buildBundleManifest({
          ...base,
          files: (p) => {
            const b = files(p);
            if (b && p === 'ESP32-BMP180.bin') {
              const c = b.slice();
              c[100] ^= 1;
              return c;
            }
            return b;
          },
        }),
      ),
    ).toBe('bad_image');
    expect(codeOf(() => parseFlasherArgs('{'))).toBe('bad_flasher_args');
    expect(codeOf(() => parseFlasherArgs({ flash_files: {} }))).toBe('bad_flasher_args');
    expect(
      codeOf(() =>
        parseFlasherArgs({
          flash_settings: { flash_mode: 'dio', flash_freq: '40m', flash_size: '4MB' },
          flash_files: { zz: 'a.bin' },
        }),
      ),
    ).toBe('bad_flasher_args');
    const escaping = JSON.stringify({
      flash_settings: { flash_mode: 'dio', flash_freq: '40m', flash_size: 'detect' },
      flash_files: { '0x10000': '../../etc/app.bin' },
      app: { offset: '0x10000', file: '../../etc/app.bin' },
    });
    const app = files('ESP32-BMP180.bin');
    expect(codeOf(() => buildBundleManifest({ ...base, flasherArgs: escaping, files: () => app }))).toBe('bad_path');
  });
});
