import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { toProjectFiles, projectDefaults } from '../src/lib/project/project-files';
import { unzip, ZipError } from '../src/lib/project/unzip';

describe('zip upload', () => {
  it('unpacks a zip made by Info-ZIP (deflated and stored entries) into project files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'unzip-'));
    const p = join(dir, 'blinky');
    mkdirSync(join(p, 'main'), { recursive: true });
    mkdirSync(join(p, 'build'), { recursive: true });
    const src = 'void app_main(void) {}\n'.repeat(200);
    writeFileSync(join(p, 'CMakeLists.txt'), 'project(blinky)\n');
    writeFileSync(join(p, 'main/main.c'), src);
    writeFileSync(join(p, 'build/junk.bin'), 'x');
    writeFileSync(join(p, '.espctl.toml'), '[build]\ntarget = "esp32c3"  # chip\nidf_version = "5.3.1"\n');
    writeFileSync(join(p, '.idf-version'), '5.4\n');
    expect(spawnSync('zip', ['-qr', 'p.zip', 'blinky'], { cwd: dir }).status).toBe(0);
    expect(spawnSync('zip', ['-q0', 'p.zip', 'blinky/CMakeLists.txt'], { cwd: dir }).status).toBe(0);
    const files = toProjectFiles(await unzip(new Uint8Array(readFileSync(join(dir, 'p.zip')))));
    const byPath = Object.fromEntries(files.map((f) => [f.path, new TextDecoder().decode(f.data)]));
    expect(byPath['main/main.c']).toBe(src);
    expect(byPath['CMakeLists.txt']).toBe('project(blinky)\n');
    expect(Object.keys(byPath)).not.toContain('build/junk.bin');
    // .idf-version wins over .espctl.toml for the IDF version; the target comes from the toml.
    expect(projectDefaults(files)).toEqual({ target: 'esp32c3', idf_version: '5.4' });
  });

  it('refuses something that is not a zip', async () => {
    await expect(unzip(new TextEncoder().encode('hello, not a zip at all, definitely'))).rejects.toThrow(ZipError);
  });
});
