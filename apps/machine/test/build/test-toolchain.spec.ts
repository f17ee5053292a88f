import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile, chmod } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePartitionBinary, parseSizeComponents, parseSizeReport, readAppImage } from '@aegis/esp';
import { makeTestStore } from '../../../../scripts/make-test-store.mjs';
import { HELLO_CMAKE, HELLO_MAIN } from './helpers.js';

let root: string;
let idfPath: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'aegis-idfpy-'));
  await chmod(root, 0o755);
  await makeTestStore(path.join(root, 'store'));
  idfPath = path.join(root, 'store', 'idf', 'test-1.0');
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

function idf(cwd: string, ...args: string[]): { status: number | null; out: string; stdout: string } {
  const r = spawnSync(path.join(idfPath, 'tools', 'idf.py'), args, {
    cwd,
    env: { PATH: '/usr/bin:/bin', IDF_PATH: idfPath, HOME: root },
    encoding: 'utf8',
  });
  return { status: r.status, out: r.stdout + r.stderr, stdout: r.stdout };
}

async function project(name: string): Promise<string> {
  const dir = path.join(root, name);
  await mkdir(path.join(dir, 'main'), { recursive: true });
  await writeFile(
    path.join(dir, 'CMakeLists.txt'),
    HELLO_CMAKE.replace('hello_world', name) + 'set(PROJECT_VER "2.4.1")\n',
  );
  await writeFile(path.join(dir, 'main', 'main.c'), HELLO_MAIN);
  return dir;
}

describe('test toolchain idf.py (the ESP-IDF CLI contract)', () => {
  it('-C and -B choose the project and build directories; the outputs look like ESP-IDF 5', async () => {
    const dir = await project('cli_demo');
    const r = idf(root, '-C', dir, '-B', path.join(dir, 'out'), 'set-target', 'esp32c3', 'build');
    expect(r.out).toContain('Project build complete');
    expect(r.status).toBe(0);
    const out = path.join(dir, 'out');
    const fa = JSON.parse(await readFile(path.join(out, 'flasher_args.json'), 'utf8'));
    expect(fa.flash_files).toEqual({
      '0x0': 'bootloader/bootloader.bin',
      '0x10000': 'cli_demo.bin',
      '0x8000': 'partition_table/partition-table.bin',
    });
    expect(fa.extra_esptool_args.chip).toBe('esp32c3');
    const desc = JSON.parse(await readFile(path.join(out, 'project_description.json'), 'utf8'));
    expect(desc).toMatchObject({
      project_name: 'cli_demo',
      project_version: '2.4.1',
      target: 'esp32c3',
      app_elf: 'cli_demo.elf',
    });
    const app = readAppImage(new Uint8Array(await readFile(path.join(out, 'cli_demo.bin'))));
    expect(app.appDesc).toMatchObject({ projectName: 'cli_demo', version: '2.4.1', idfVersion: 'test-1.0' });
    const boot = readAppImage(new Uint8Array(await readFile(path.join(out, 'bootloader/bootloader.bin'))));
    expect(boot.header.chip).toBe('esp32c3');
    const pt = parsePartitionBinary(
      new Uint8Array(await readFile(path.join(out, 'partition_table/partition-table.bin'))),
    );
    expect(pt.md5Valid).toBe(true);
    expect(pt.partitions.map((p) => p.name)).toEqual(['nvs', 'phy_init', 'factory']);

    const again = idf(dir, '-B', 'out', 'build');
    expect(again.out).toContain('ninja: no work to do.');
    expect(again.out).not.toContain('Building C object');
  });

  it('size --format json is an esp-idf-size summary', async () => {
    const dir = await project('size_demo');
    expect(idf(dir, 'build').status).toBe(0);
    const r = idf(dir, 'size', '--format', 'json');
    expect(r.status).toBe(0);
    const json = JSON.parse(r.stdout);
    expect(json.iram_text).toBeGreaterThan(0);
    expect(() => parseSizeReport(json)).not.toThrow();
  });

  it('size-components / size-files --format json charge each linked section to its archive / object file', async () => {
    const dir = await project('size_detail_demo');
    await writeFile(
      path.join(dir, 'main', 'extra.c'),
      'volatile int counter = 7;\nvolatile char scratch[200];\nvoid bump(void) { counter++; scratch[0] = 1; }\n',
    );
    await writeFile(
      path.join(dir, 'main', 'main.c'),
      HELLO_MAIN.replace('{', '{\n    extern void bump(void);\n    bump();'),
    );
    expect(idf(dir, 'build').status).toBe(0);
    const summary = JSON.parse(idf(dir, 'size', '--format', 'json').stdout);
    const comps = idf(dir, 'size-components', '--format', 'json');
    expect(comps.status).toBe(0);
    const archives = JSON.parse(comps.stdout) as Record<string, Record<string, number>>;
    expect(Object.keys(archives).sort()).toEqual(['libesp_app_format.a', 'libesp_system.a', 'libmain.a']);
    const sum = (rows: Record<string, Record<string, number>>, key: string) =>
      Object.values(rows).reduce((n, e) => n + (e[key] ?? 0), 0);
    // Per-archive sections add up to the ELF's sections (the summary comes from `size -A` of the ELF).
    expect(sum(archives, '.iram0.text')).toBe(summary.iram_text);
    expect(sum(archives, '.dram0.data')).toBe(summary.dram_data);
    expect(sum(archives, '.dram0.bss')).toBe(summary.dram_bss);
    expect(archives['libmain.a']['.dram0.bss']).toBeGreaterThanOrEqual(200);
    expect(archives['libesp_app_format.a']['.flash.appdesc']).toBe(256);
    for (const e of Object.values(archives)) {
      const flash = Object.entries(e)
        .filter(([k]) => k.startsWith('.flash.') || k === '.dram0.data' || k.startsWith('.iram0.'))
        .reduce((n, [, v]) => n + v, 0);
      expect(e.flash_total).toBe(flash);
    }
    expect(parseSizeComponents(archives).map((c) => c.name)).toContain('libmain.a');

    const files = idf(dir, 'size-files', '--format', 'json');
    expect(files.status).toBe(0);
    const objs = JSON.parse(files.stdout) as Record<string, Record<string, number>>;
    expect(objs['extra.c.obj']['.dram0.bss']).toBeGreaterThanOrEqual(200);
    expect(objs['main.c.obj']['.iram0.text']).toBeGreaterThan(0);
    expect(sum(objs, '.iram0.text')).toBe(summary.iram_text);
    expect(sum(objs, 'flash_total')).toBe(sum(archives, 'flash_total'));
  });

  it('size-components before any build fails with a clear error', async () => {
    const dir = await project('size_nobuild_demo');
    const r = idf(dir, 'size-components', '--format', 'json');
    expect(r.status).toBe(2);
    expect(r.out).toContain('has no build yet; run idf.py build first');
  });

  it('set-target refuses chips the test toolchain cannot compile for, and unknown names', async () => {
    const dir = await project('target_demo');
    const s3 = idf(dir, 'set-target', 'esp32s3');
    expect(s3.status).toBe(2);
    expect(s3.out).toMatch(/test toolchain \(test-1\.0\) only supports esp32c3, .*'esp32s3' needs a real ESP-IDF/);
    const bogus = idf(dir, 'set-target', 'esp8266');
    expect(bogus.status).toBe(2);
    expect(bogus.out).toContain("'esp8266' is not one of");
  });

  it('fullclean removes the build directory, and refuses a directory that is not one', async () => {
    const dir = await project('clean_demo');
    expect(idf(dir, 'build').status).toBe(0);
    expect(idf(dir, 'fullclean').status).toBe(0);
    expect(existsSync(path.join(dir, 'build'))).toBe(false);
    await mkdir(path.join(dir, 'notbuild'));
    await writeFile(path.join(dir, 'notbuild', 'precious.txt'), 'keep');
    const r = idf(dir, '-B', 'notbuild', 'fullclean');
    expect(r.status).toBe(2);
    expect(r.out).toContain("doesn't seem to be a build directory");
    expect(existsSync(path.join(dir, 'notbuild', 'precious.txt'))).toBe(true);
  });

  it('a link error comes out as the real linker diagnostic', async () => {
    const dir = await project('link_demo');
    await writeFile(
      path.join(dir, 'main', 'main.c'),
      'void missing(void);\nvoid app_main(void)\n{\n    missing();\n}\n',
    );
    const r = idf(dir, 'build');
    expect(r.status).toBe(2);
    expect(r.out).toMatch(/undefined reference to `missing'/);
  });
});
