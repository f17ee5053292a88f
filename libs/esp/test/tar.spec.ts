import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EspFormatError } from '../src/errors.js';
import { readTar, tarArchive, tarRecord, writeTar } from '../src/tar.js';

const enc = new TextEncoder();

describe('tar (the one writer and reader of the repository)', () => {
  it('writes an archive GNU tar extracts byte for byte, long paths included', () => {
    const long = `components/${'a'.repeat(60)}/${'b'.repeat(50)}/${'c'.repeat(40)}.c`;
    const big = new Uint8Array(70_000).map((_, i) => (i * 7) & 0xff);
    const tar = writeTar([
      { path: 'CMakeLists.txt', data: enc.encode('project(x)\n') },
      { path: 'main/main.c', data: big },
      { path: long, data: enc.encode('int x;\n') },
      { path: 'empty.txt', data: new Uint8Array(0) },
    ]);
    expect(tar.length % 512).toBe(0);
    const dir = mkdtempSync(join(tmpdir(), 'ustar-'));
    writeFileSync(join(dir, 'p.tar'), tar);
    const r = spawnSync('tar', ['-xf', 'p.tar'], { cwd: dir });
    expect(r.status, r.stderr.toString()).toBe(0);
    expect(readFileSync(join(dir, 'CMakeLists.txt'), 'utf8')).toBe('project(x)\n');
    expect(Buffer.compare(readFileSync(join(dir, 'main/main.c')), Buffer.from(big))).toBe(0);
    expect(readFileSync(join(dir, long), 'utf8')).toBe('int x;\n');
    expect(readFileSync(join(dir, 'empty.txt')).length).toBe(0);
  });

  it('refuses paths that escape the project, absolute paths and duplicates', () => {
    const f = (path: string) => ({ path, data: new Uint8Array(1) });
    expect(() => writeTar([f('../evil')])).toThrow(EspFormatError);
    expect(() => writeTar([f('/etc/passwd')])).toThrow(EspFormatError);
    expect(() => writeTar([f('a/../../b')])).toThrow(EspFormatError);
    expect(() => writeTar([f('a'), f('a')])).toThrow(/twice/);
    expect(() => writeTar([f('x'.repeat(300))])).toThrow(/too long/);
  });

  it('reads back what it wrote, and what GNU tar wrote (long names included)', () => {
    const long = `components/${'a'.repeat(60)}/${'b'.repeat(50)}/${'c'.repeat(40)}.c`;
    const files = [
      { path: 'main/main.c', data: enc.encode('int main;\n') },
      { path: long, data: new Uint8Array(1000).fill(7) },
    ];
    expect(readTar(writeTar(files))).toEqual(new Map(files.map((f) => [f.path, f.data])));

    const dir = mkdtempSync(join(tmpdir(), 'untar-'));
    mkdirSync(join(dir, 'src', 'x'.repeat(120)), { recursive: true });
    writeFileSync(join(dir, 'src', 'x'.repeat(120), 'f.txt'), 'gnu\n');
    const r = spawnSync('tar', ['--format=gnu', '-cf', 'g.tar', 'src'], { cwd: dir });
    expect(r.status, r.stderr.toString()).toBe(0);
    const got = readTar(readFileSync(join(dir, 'g.tar')));
    expect(new TextDecoder().decode(got.get(`src/${'x'.repeat(120)}/f.txt`))).toBe('gnu\n');
  });

  it('refuses to read an entry that escapes the root, and a truncated archive', () => {
    const evil = tarArchive(tarRecord({ path: '../evil', size: 1 }, new Uint8Array(1)));
    expect(() => readTar(evil)).toThrow(EspFormatError);
    const ok = writeTar([{ path: 'a', data: new Uint8Array(600) }]);
    expect(() => readTar(ok.subarray(0, 700))).toThrow(/truncated/);
  });

  it('makes hostile records on purpose for tests (links, devices), which readTar skips', () => {
    const tar = tarArchive([
      ...tarRecord({ path: 'link', size: 0, type: '2', linkname: '/etc/passwd' }),
      ...tarRecord({ path: 'f', size: 2 }, enc.encode('hi')),
    ]);
    expect([...readTar(tar).keys()]).toEqual(['f']);
    expect(new TextDecoder().decode(tar.subarray(157, 168))).toBe('/etc/passwd');
  });
});
