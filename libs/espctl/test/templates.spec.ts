import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readAppImage } from '@aegis/esp';
import { renderComponent, renderTemplate, TemplateName } from '../src/project/templates.js';
import { parseEspctlToml } from '../src/config/espctl-toml.js';
import { writeTar } from '@aegis/esp';
import { ensureKit, kitEnv, TEST_IDF_DIR } from '../../esp/test/idf-kit.js';
import { espctlBin } from './mcp-helpers.js';

describe('project templates', () => {
  for (const t of TemplateName.options) {
    it(`${t}: ESP-IDF layout with project(name) and a valid .espctl.toml`, () => {
      const f = renderTemplate(t, 'demo_app', 'esp32c3');
      const src = t === 'hello_cpp' ? 'main/demo_app.cpp' : 'main/demo_app.c';
      const extra = t === 'blink' ? ['main/Kconfig.projbuild', 'sdkconfig.defaults'] : [];
      expect(Object.keys(f).sort()).toEqual(
        ['.espctl.toml', '.gitignore', 'CMakeLists.txt', 'main/CMakeLists.txt', src, ...extra].sort(),
      );
      expect(f['CMakeLists.txt']).toMatch(/^project\(demo_app\)$/m);
      expect(f['CMakeLists.txt']).toContain('include($ENV{IDF_PATH}/tools/cmake/project.cmake)');
      expect(f['main/CMakeLists.txt']).toContain(`idf_component_register(SRCS "${path.basename(src)}"`);
      expect(f[src]).toMatch(/void app_main\(void\)/);
      expect(parseEspctlToml(f['.espctl.toml'])).toEqual({
        project: { name: 'demo_app' },
        build: { target: 'esp32c3' },
      });
    });
  }

  it('refuses a board of another chip with an espctl error', () => {
    expect(() => renderTemplate('blink', 'b', 'esp32', 'esp32c3-supermini')).toThrow(
      expect.objectContaining({ code: 'invalid_template_options' }),
    );
  });

  it('espctl project create --template blink --board, then espctl build --local with real ESP-IDF v5.1.6', async () => {
    const kit = ensureKit();
    await mkdir(path.join(TEST_IDF_DIR, 'builds'), { recursive: true });
    const dir = await mkdtemp(path.join(TEST_IDF_DIR, 'builds', 'espctl-tpl-'));
    try {
      const env = { ...kitEnv(kit), HOME: dir, XDG_CONFIG_HOME: dir };
      const espctl = (args: string[], cwd: string) =>
        spawnSync(process.execPath, [espctlBin, '--json', ...args], { cwd, encoding: 'utf8', env });
      const created = espctl(['project', 'create', 'blinky', '--template', 'blink', '--board', 'esp32-devkit-v1'], dir);
      expect(created.status, created.stderr).toBe(0);
      expect(JSON.parse(created.stdout).written).toContain('sdkconfig.defaults.esp32');

      const proj = path.join(dir, 'blinky');
      const r = espctl(['build', '--local'], proj);
      expect(r.status, `${r.stdout.slice(-3000)}${r.stderr.slice(-2000)}`).toBe(0);
      expect(r.stdout.trim().split('\n').pop()).toBe('{"status":"succeeded","exit_code":0}');
      // The target came from the board (.espctl.toml), the LED pin through Kconfig from sdkconfig.defaults.esp32.
      const app = readAppImage(new Uint8Array(await readFile(path.join(proj, 'build', 'blinky.bin'))));
      expect(app.header.chip).toBe('esp32');
      expect(await readFile(path.join(proj, 'sdkconfig'), 'utf8')).toContain('CONFIG_BLINK_GPIO=2\n');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 600_000);

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
