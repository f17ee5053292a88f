import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseEspctlToml, stringifyEspctlToml } from '../src/config/espctl-toml.js';
import { loadProjectConfig } from '../src/config/project-config.js';
import { checkRelPath, DiskProject, InlineProject } from '../src/config/project-files.js';
import { EspctlError } from '../src/errors.js';

function errorOf(fn: () => unknown): EspctlError {
  try {
    fn();
  } catch (err) {
    if (err instanceof EspctlError) return err;
    throw err;
  }
  throw new Error('expected an error');
}

describe('.espctl.toml', () => {
  it('parses a valid file', () => {
    const c = parseEspctlToml(
      '[project]\nname = "blink"\n\n[build]\ntarget = "esp32c3"\nidf_version = "5.3.1"\nprofile = "release"\n\n[flash]\nbaud = 921600\n',
    );
    expect(c).toEqual({
      project: { name: 'blink' },
      build: { target: 'esp32c3', idf_version: '5.3.1', profile: 'release' },
      flash: { baud: 921600 },
    });
  });

  it('names the unknown key and its line', () => {
    const e = errorOf(() => parseEspctlToml('[project]\nname = "x"\n\n[build]\ntarget = "esp32c3"\ntargt = "esp32"\n'));
    expect(e.code).toBe('config_invalid');
    expect(e.message).toBe('.espctl.toml:6: unknown key "build.targt".');
  });

  it('names a bad value with its key and line', () => {
    const e = errorOf(() => parseEspctlToml('[build]\n\ntarget = "esp99"\n'));
    expect(e.code).toBe('config_invalid');
    expect(e.message).toMatch(/^\.espctl\.toml:3: key "build\.target": /);
  });

  it('names an unknown table', () => {
    const e = errorOf(() => parseEspctlToml('[project]\nname = "x"\n[bild]\ntarget = "esp32"\n'));
    expect(e.message).toBe('.espctl.toml:3: unknown key "bild".');
  });

  it('reports TOML syntax errors with line and column', () => {
    const e = errorOf(() => parseEspctlToml('[build]\ntarget = esp32c3\n'));
    expect(e.code).toBe('config_syntax');
    expect(e.message).toMatch(/^\.espctl\.toml:2:\d+: /);
  });

  it('round-trips through stringify', () => {
    const c = { project: { name: 'p' }, build: { target: 'esp32s3' as const } };
    expect(parseEspctlToml(stringifyEspctlToml(c))).toEqual(c);
  });
});

describe('project config', () => {
  it('resolves name, target and IDF version (.idf-version first)', async () => {
    const p = new InlineProject({
      'CMakeLists.txt': 'cmake_minimum_required(VERSION 3.16)\nproject(my_app)\n',
      '.espctl.toml': '[build]\ntarget = "esp32c3"\nidf_version = "5.2"\n',
      '.idf-version': '5.3.1\n',
    });
    const c = await loadProjectConfig(p);
    expect(c).toMatchObject({
      name: 'my_app',
      target: 'esp32c3',
      idfVersion: '5.3.1',
      idfVersionSource: 'idf-version-file',
      hasCMakeLists: true,
    });
  });

  it('refuses a malformed .idf-version', async () => {
    await expect(loadProjectConfig(new InlineProject({ '.idf-version': 'five point three' }))).rejects.toMatchObject({
      code: 'config_invalid',
    });
  });
});

describe('project paths', () => {
  it('refuses paths that escape the project', () => {
    for (const bad of ['../x', '/etc/passwd', 'a/../../b', 'a\\b', '', '.', 'a\0b']) {
      expect(() => checkRelPath(bad), bad).toThrow(EspctlError);
    }
    expect(checkRelPath('./main/app.c')).toBe('main/app.c');
  });

  it('caps inline projects', () => {
    const big = 'x'.repeat(9 * 1024 * 1024);
    expect(() => new InlineProject({ 'a.c': big })).toThrow(/at most/);
  });

  let dir: string | undefined;
  afterEach(async () => dir && rm(dir, { recursive: true, force: true }));

  it('lists a disk project without build/ and dot-directories', async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'espctl-'));
    const p = new DiskProject(dir);
    await p.write('main/a.c', 'x');
    await p.write('build/out.bin', 'y');
    await p.write('.git/HEAD', 'z');
    await p.write('.espctl.toml', '');
    expect(await p.list()).toEqual(['.espctl.toml', 'main/a.c']);
    expect(await readFile(path.join(dir, 'main/a.c'), 'utf8')).toBe('x');
  });
});
