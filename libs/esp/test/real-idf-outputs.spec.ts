import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  jsonObjectInOutput,
  parseFlasherArgs,
  parseProjectDescription,
  parseSizeComponents,
  parseSizeReport,
} from '../src/index.js';
import { realText } from './real-data.js';

/** Outputs of ESP-IDF v5.1.6 building get-started/hello_world (see fixtures/idf-5.1.6-hello_world/README.md). */
const FIXTURES = join(import.meta.dirname, 'fixtures', 'idf-5.1.6-hello_world');
const fixture = (target: string, file: string) => readFileSync(join(FIXTURES, target, file), 'utf8');

describe('idf.py size --format json, stdout as printed (build log first)', () => {
  it('finds the JSON after "Executing action: size" and the ninja/CMake lines', () => {
    const stdout = fixture('esp32c3', 'size.stdout.txt');
    expect(stdout.startsWith('Executing action: size\n')).toBe(true);
    const json = jsonObjectInOutput(stdout);
    expect(JSON.parse(json!)).toMatchObject({ total_size: 160078, used_flash_non_ram: 112782 });
  });

  it.each([
    // esp32c3 puts all RAM in D/IRAM; esp32 has separate DRAM and IRAM.
    ['esp32c3', { flash: 112782, image: 160078, ram: 50960, regions: ['D/IRAM', 'Flash Code', 'Flash Data'] }],
    [
      'esp32',
      { flash: 100106, image: 157681, ram: 10672 + 49103, regions: ['DRAM', 'IRAM', 'Flash Code', 'Flash Data'] },
    ],
  ])('%s summary', (target, want) => {
    const r = parseSizeReport(fixture(target, 'size.stdout.txt'));
    expect(r.source).toBe('legacy-json');
    expect(r.flash.used).toBe(want.flash);
    expect(r.image_size).toBe(want.image);
    expect(r.ram.used).toBe(want.ram);
    expect(r.regions.map((x) => x.name)).toEqual(want.regions);
  });

  it.each(['esp32c3', 'esp32'])('%s size-components: one row per archive, libmain.a among them', (target) => {
    const rows = parseSizeComponents(fixture(target, 'size-components.stdout.txt'));
    expect(rows.length).toBeGreaterThan(20);
    const main = rows.find((r) => r.name === 'libmain.a');
    expect(main?.flash).toBeGreaterThan(0);
    expect(rows.find((r) => r.name === 'libfreertos.a')?.ram).toBeGreaterThan(0);
  });

  it('a log with no JSON at all is an error, not an empty report', () => {
    const log = 'Executing action: size\nRunning ninja in directory /p/build\nninja: error: loading build.ninja\n';
    expect(jsonObjectInOutput(log)).toBeUndefined();
    expect(() => parseSizeReport(log)).toThrow(expect.objectContaining({ code: 'bad_size_report' }));
  });

  it('skips a brace-led log line that is not JSON before the report', () => {
    const out = '{ not json from a CMake message\n' + fixture('esp32', 'size.stdout.txt');
    expect(parseSizeReport(out).image_size).toBe(157681);
  });
});

describe('flasher_args.json of ESP-IDF v5.1.6', () => {
  it.each([
    ['esp32c3', 0x0, '80m'],
    ['esp32', 0x1000, '40m'],
  ])('%s: parts by role and offset, chip and flash settings', (target, bootloaderAt, freq) => {
    const a = parseFlasherArgs(fixture(target, 'flasher_args.json'));
    expect(a.chip).toBe(target);
    expect({ mode: a.flashMode, freq: a.flashFreq, size: a.flashSize }).toEqual({ mode: 'dio', freq, size: '2MB' });
    expect(a.entries).toEqual([
      { name: 'bootloader', offset: bootloaderAt, path: 'bootloader/bootloader.bin', encrypted: false },
      { name: 'partition-table', offset: 0x8000, path: 'partition_table/partition-table.bin', encrypted: false },
      { name: 'app', offset: 0x10000, path: 'hello_world.bin', encrypted: false },
    ]);
  });
});

describe('project_description.json', () => {
  it.each([
    ['esp32c3', 'riscv32-esp-elf-'],
    ['esp32', 'xtensa-esp32-elf-'],
  ])('%s (ESP-IDF v5.1.6): project, target, version, ELF, tool prefix and built components', (target, prefix) => {
    const d = parseProjectDescription(fixture(target, 'project_description.json'));
    expect(d).toMatchObject({
      projectName: 'hello_world',
      target,
      idfVersion: 'v5.1.6',
      appElf: 'hello_world.elf',
      appBin: 'hello_world.bin',
      toolPrefix: prefix,
      idfPath: '/opt/esp-kit/esp-idf',
      projectPath: '/home/dev/hello_world',
    });
    expect(d.components.find((c) => c.name === 'main')).toEqual({
      name: 'main',
      dir: '/home/dev/hello_world/main',
      source: 'project',
      type: 'LIBRARY',
      library: 'esp-idf/main/libmain.a',
    });
    expect(d.components.find((c) => c.name === 'freertos')).toMatchObject({ source: 'idf', type: 'LIBRARY' });
    // Header/config-only components build no library.
    const configOnly = d.components.find((c) => c.type === 'CONFIG_ONLY');
    expect(configOnly?.library).toBeUndefined();
    expect(d.components.filter((c) => c.source === 'project').map((c) => c.name)).toEqual(['main']);
    expect(d.components.length).toBeGreaterThan(60);
  });

  it('ESP-IDF v4.0.1 (no target, no idf_path, no build_component_info): components from the name/path lists', () => {
    const d = parseProjectDescription(realText('136446529__ESP32-BMP180', 'build', 'project_description.json'));
    expect(d.target).toBeUndefined();
    expect(d).toMatchObject({ projectName: 'ESP32-BMP180', idfVersion: 'v4.0.1', idfPath: '/home/kusok/esp/esp-idf' });
    expect(d.components.find((c) => c.name === 'main')?.source).toBe('project');
    expect(d.components.find((c) => c.name === 'freertos')?.source).toBe('idf');
    expect(d.components.some((c) => c.name === '')).toBe(false);
  });

  it('ESP-IDF v4.4-dev on Windows paths, esp32s3', () => {
    const d = parseProjectDescription(realText('203Null__esp32-microlight', 'build', 'project_description.json'));
    expect(d).toMatchObject({ projectName: 'main', target: 'esp32s3', toolPrefix: 'xtensa-esp32s3-elf-' });
    expect(d.idfVersion).toBe('v4.4-dev-3235-g3e370c4296-dirty');
    expect(d.components.find((c) => c.name === 'main')?.source).toBe('project');
    expect(d.components.find((c) => c.name === 'esp_common')?.source).toBe('idf');
  });

  it('rejects what ESP-IDF does not write', () => {
    expect(() => parseProjectDescription('{"version": "1.1"}')).toThrow(
      expect.objectContaining({ code: 'bad_project_description' }),
    );
    expect(() => parseProjectDescription('not json')).toThrow(/not valid JSON/);
  });
});
