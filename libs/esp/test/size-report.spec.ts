import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SizeReport } from '@aegis/protocol';
import { EspFormatError, parseSizeComponents, parseSizeReport } from '../src/index.js';
import { REAL_ESP, realText } from './real-data.js';

const ROOT = ['espressif__esp-idf-size', 'test', 'legacy', 'artifacts'];
const CHIP_DIRS = readdirSync(join(REAL_ESP, ...ROOT));
const read = (chip: string, file: string) => realText(...ROOT, chip, file);

describe('parseSizeReport on every esp-idf-size test artifact', () => {
  it('covers five chips', () => {
    expect(CHIP_DIRS.sort()).toEqual(['esp32', 'esp32c3', 'esp32c6', 'esp32s2', 'esp32s3']);
  });

  for (const chip of CHIP_DIRS) {
    describe(chip, () => {
      it('every file parses to a valid report', () => {
        for (const file of readdirSync(join(REAL_ESP, ...ROOT, chip))) {
          const report = parseSizeReport(read(chip, file));
          expect(SizeReport.parse(report), file).toEqual(report);
          expect(report.flash.used + report.ram.used, file).toBeGreaterThan(0);
        }
      });

      it('summary.json matches summary.text and the raw JSON numbers', () => {
        const raw = JSON.parse(read(chip, 'summary.json')) as Record<string, number>;
        const fromJson = parseSizeReport(raw);
        const fromText = parseSizeReport(read(chip, 'summary.text'));
        expect(fromJson.source).toBe('legacy-json');
        expect(fromText.source).toBe('legacy-text');
        expect(fromJson.image_size).toBe(raw.total_size);
        expect(fromJson.flash.used).toBe(raw.used_flash_non_ram);
        expect(fromJson.ram.used).toBe(raw.used_dram + raw.used_iram + raw.used_diram);
        expect(fromJson.ram.total).toBe(raw.dram_total + raw.iram_total + raw.diram_total);
        expect(fromText.image_size).toBe(fromJson.image_size);
        expect(fromText.flash.used).toBe(fromJson.flash.used);
        expect(fromText.ram.used).toBe(fromJson.ram.used);
        expect(fromText.ram.total).toBe(fromJson.ram.total);
        for (const region of fromJson.regions.filter((r) => !r.name.startsWith('Flash'))) {
          const text = fromText.regions.find((r) => r.name === region.name);
          expect(text?.used, region.name).toBe(region.used);
          expect(text?.total, region.name).toBe(region.total);
        }
      });

      it('archives.json matches the archives table in archives.text', () => {
        const fromJson = parseSizeReport(read(chip, 'archives.json'));
        const fromText = parseSizeReport(read(chip, 'archives.text'));
        expect(fromJson.components?.length).toBeGreaterThan(5);
        // The text table cuts archive names to 24 characters.
        const text = fromText.components ?? [];
        expect(text.length).toBe(fromJson.components?.length);
        for (const c of fromJson.components ?? []) {
          const t = text.find((x) => x.name === c.name || (x.name.length === 24 && c.name.startsWith(x.name)));
          expect(t && { ...t, name: c.name }, c.name).toEqual(c);
        }
        const libc = fromJson.components?.find((c) => c.name === 'libc.a');
        expect(libc?.flash).toBeGreaterThan(0);
      });

      it('summary_diff.json: current totals plus the reference', () => {
        const raw = JSON.parse(read(chip, 'summary_diff.json')) as {
          current: Record<string, number>;
          reference: Record<string, number>;
        };
        const diff = parseSizeReport(raw);
        expect(diff.image_size).toBe(raw.current.total_size);
        expect(diff.reference?.image_size).toBe(raw.reference.total_size);
        expect(diff.reference?.flash.used).toBe(raw.reference.used_flash_non_ram);
        const text = parseSizeReport(read(chip, 'summary_diff.text'));
        expect(text.image_size).toBe(raw.current.total_size);
        expect(text.ram.used).toBe(diff.ram.used);
      });
    });
  }

  it('esp32 values, checked by hand against summary.text', () => {
    const r = parseSizeReport(read('esp32', 'summary.text'));
    expect(r.image_size).toBe(179208);
    expect(r.flash.used).toBe(118046);
    expect(r.regions.find((x) => x.name === 'DRAM')).toEqual({
      name: 'DRAM',
      used: 11316,
      total: 11316 + 169420,
      parts: { '.data': 9084, '.bss': 2232 },
    });
    expect(r.regions.find((x) => x.name === 'Flash')?.parts).toEqual({ '.text': 78402, '.rodata': 39388 });
    const boot = parseSizeReport(read('esp32', 'bootloader_summary.text'));
    expect(boot.image_size).toBe(26534);
    expect(boot.flash.used).toBe(0);
    expect(boot.regions.map((x) => x.name)).toEqual(['DRAM', 'IRAM']);
  });
});

describe('parseSizeReport on esp-idf-size json2 (format from its format_json.py)', () => {
  const json2 = {
    version: '1.0',
    layout: [
      { name: 'Flash Code', total: 8388576, used: 78402, free: 8310174, parts: { '.text': { size: 78402 } } },
      {
        name: 'Flash Data',
        total: 4194272,
        used: 39644,
        free: 4154628,
        parts: { '.rodata': { size: 39388 }, '.appdesc': { size: 256 } },
      },
      {
        name: 'DIRAM',
        total: 341760,
        used: 55060,
        free: 286700,
        parts: { '.text': { size: 46404 }, '.data': { size: 4912 }, '.bss': { size: 3744 } },
      },
      { name: 'RTC SLOW', total: 8192, used: 24, free: 8168, parts: { '.rtc_slow_reserved': { size: 24 } } },
    ],
  };

  it('sums flash and RAM memory types', () => {
    const r = parseSizeReport(JSON.stringify(json2));
    expect(r.source).toBe('json2');
    expect(r.flash).toEqual({ used: 78402 + 39644 });
    expect(r.ram).toEqual({ used: 55060 + 24, total: 341760 + 8192 });
    expect(r.regions[2]).toEqual({
      name: 'DIRAM',
      used: 55060,
      total: 341760,
      parts: { '.text': 46404, '.data': 4912, '.bss': 3744 },
    });
  });

  it('reads json2 archives', () => {
    const r = parseSizeReport({
      'libc.a': {
        abbrev_name: 'libc.a',
        size: 43143,
        memory_types: { 'Flash Code': { size: 40035 }, 'Flash Data': { size: 2848 }, DIRAM: { size: 576 } },
      },
    });
    expect(r.components).toEqual([{ name: 'libc.a', flash: 42883, ram: 576 }]);
  });
});

describe('parseSizeReport refuses what is not a size report', () => {
  it('gives bad_size_report', () => {
    for (const bad of ['hello', '{"a": 1}', '{broken', '[]', 42, null, { x: [1] }]) {
      try {
        parseSizeReport(bad);
        expect.unreachable(`accepted ${JSON.stringify(bad)}`);
      } catch (e) {
        expect(e).toBeInstanceOf(EspFormatError);
        expect((e as EspFormatError).code).toBe('bad_size_report');
      }
    }
  });
});

describe('parseSizeComponents (idf.py size-components / size-files tables)', () => {
  for (const chip of CHIP_DIRS) {
    it(`${chip}: archives.json gives {name, flash, ram} per archive, numbers as in the JSON`, () => {
      const raw = JSON.parse(read(chip, 'archives.json')) as Record<string, Record<string, number>>;
      const rows = parseSizeComponents(raw);
      expect(rows.map((r) => r.name).sort()).toEqual(Object.keys(raw).sort());
      for (const r of rows)
        expect(r, r.name).toEqual({ name: r.name, flash: raw[r.name].flash_total, ram: raw[r.name].ram_st_total });
      expect(parseSizeComponents(read(chip, 'archives.text')).length).toBe(rows.length);
    });
  }

  it('reads a per-file table in the same legacy shape', () => {
    const rows = parseSizeComponents({
      'main.c.obj': { '.iram0.text': 16, '.flash.rodata': 14, flash_total: 30, ram_st_total: 16 },
    });
    expect(rows).toEqual([{ name: 'main.c.obj', flash: 30, ram: 16 }]);
  });

  it('refuses a summary (no per-archive table) with bad_size_report', () => {
    const summary = read(CHIP_DIRS[0], 'summary.json');
    expect(() => parseSizeComponents(summary)).toThrow(/size-components or size-files/);
    try {
      parseSizeComponents(summary);
    } catch (e) {
      expect((e as EspFormatError).code).toBe('bad_size_report');
    }
  });
});
