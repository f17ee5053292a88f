import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderComponent, renderTemplate, TemplateName } from '../src/project/templates.js';
import { parseEspctlToml } from '../src/config/espctl-toml.js';
import { writeTar } from '../src/project/tar-pack.js';
import { makeTestStore } from '../../../scripts/make-test-store.mjs';
import { espctlBin } from './mcp-helpers.js';

const hasGcc = (() => {
  try {
    execFileSync('riscv64-unknown-elf-gcc', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe('project templates', () => {
  for (const t of TemplateName.options) {
    it(`${t}: ESP-IDF layout with project(name) and a valid .espctl.toml`, () => {
      const f = renderTemplate(t, 'demo_app', 'esp32c3');
      expect(Object.keys(f).sort()).toEqual([
        '.espctl.toml',
        '.gitignore',
        'CMakeLists.txt',
        'main/CMakeLists.txt',
        'main/demo_app.c',
      ]);
      expect(f['CMakeLists.txt']).toMatch(/^project\(demo_app\)$/m);
      expect(f['CMakeLists.txt']).toContain('include($ENV{IDF_PATH}/tools/cmake/project.cmake)');
      expect(f['main/CMakeLists.txt']).toContain('idf_component_register(SRCS "demo_app.c"');
      expect(f['main/demo_app.c']).toContain('void app_main(void)');
      expect(parseEspctlToml(f['.espctl.toml'])).toEqual({
        project: { name: 'demo_app' },
        build: { target: 'esp32c3' },
      });
    });
  }

  it.runIf(hasGcc)('every template builds with the test store (espctl build --local → idf.py build)', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'espctl-tpl-'));
    try {
      const { root } = await makeTestStore(path.join(dir, 'store'), { log: () => undefined });
      for (const t of TemplateName.options) {
        const proj = path.join(dir, t);
        for (const [rel, content] of Object.entries(renderTemplate(t, `app_${t}`, 'esp32c3'))) {
          await mkdir(path.dirname(path.join(proj, rel)), { recursive: true });
          await writeFile(path.join(proj, rel), content);
        }
        const r = spawnSync(process.execPath, [espctlBin, '--json', 'build', '--local'], {
          cwd: proj,
          encoding: 'utf8',
          env: {
            PATH: process.env.PATH ?? '',
            HOME: dir,
            XDG_CONFIG_HOME: dir,
            IDF_PATH: path.join(root, 'idf/test-1.0'),
          },
        });
        expect(r.status, `${t}: ${r.stdout}${r.stderr}`).toBe(0);
        expect(r.stdout.trim().split('\n').pop()).toBe('{"status":"succeeded","exit_code":0}');
        const bin = await readFile(path.join(proj, 'build', `app_${t}.bin`));
        expect(bin[0], 'ESP image magic').toBe(0xe9);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('renders a component', () => {
    const f = renderComponent('sensor');
    expect(Object.keys(f).sort()).toEqual([
      'components/sensor/CMakeLists.txt',
      'components/sensor/include/sensor.h',
      'components/sensor/sensor.c',
    ]);
  });
});

describe('tar writer', () => {
  it('writes an archive GNU tar can list and extract', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'espctl-tar-'));
    try {
      const long = 'components/' + 'x'.repeat(60) + '/include/' + 'y'.repeat(60) + '.h';
      const tar = writeTar([
        { path: 'main/a.c', data: new TextEncoder().encode('int a;\n') },
        { path: long, data: new TextEncoder().encode('#pragma once\n') },
      ]);
      await writeFile(path.join(dir, 'p.tar'), tar);
      await mkdir(path.join(dir, 'out'));
      execFileSync('tar', ['-xf', 'p.tar', '-C', 'out'], { cwd: dir });
      expect(execFileSync('cat', [path.join(dir, 'out/main/a.c')]).toString()).toBe('int a;\n');
      expect(execFileSync('cat', [path.join(dir, 'out', long)]).toString()).toBe('#pragma once\n');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
