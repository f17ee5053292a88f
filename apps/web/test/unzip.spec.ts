import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { toProjectFiles, projectDefaults } from '../src/lib/project/project-files';
import { unzip, ZipError } from '../src/lib/project/unzip';
import { makeZip } from './support/zip';

const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe('zip upload', () => {
  it('unpacks a zip made by Info-ZIP (deflated and stored entries) into project files', async () => {
    // fixtures/blinky-infozip.zip: `zip -qr blinky.zip blinky` (Info-ZIP 3.0), with build/ and dot-files inside.
    const buf = new Uint8Array(readFileSync(new URL('./fixtures/blinky-infozip.zip', import.meta.url)));
    const files = toProjectFiles(await unzip(buf));
    const byPath = Object.fromEntries(files.map((f) => [f.path, text(f.data)]));
    expect(byPath['main/main.c']).toBe('void app_main(void) {}\n'.repeat(200));
    expect(byPath['CMakeLists.txt']).toBe('project(blinky)\n');
    expect(Object.keys(byPath)).not.toContain('build/junk.bin');
    // .idf-version wins over .espctl.toml for the IDF version; the target comes from the toml.
    expect(projectDefaults(files)).toEqual({ target: 'esp32c3', idf_version: '5.4' });
  });

  it('reads a project zipped without a top folder, keeping executable bits', async () => {
    const zip = makeZip({ 'CMakeLists.txt': 'project(x)\n', 'main/x.c': 'int x;\n' }, ['CMakeLists.txt']);
    const files = toProjectFiles(await unzip(new Uint8Array(zip)));
    expect(files.map((f) => f.path).sort()).toEqual(['CMakeLists.txt', 'main/x.c']);
  });

  it('refuses something that is not a zip, and entries that escape the project', async () => {
    await expect(unzip(new TextEncoder().encode('hello, not a zip at all, definitely'))).rejects.toThrow(ZipError);
    const evil = makeZip({ '../evil.c': 'x' });
    expect(() => toProjectFiles([{ path: '../evil.c', data: new Uint8Array(1) }])).toThrow(/inside the project/);
    await expect(unzip(new Uint8Array(evil)).then((f) => toProjectFiles(f))).rejects.toThrow(/inside the project/);
  });
});
