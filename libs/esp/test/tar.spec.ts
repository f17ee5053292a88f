import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runInNewContext } from 'node:vm';
import * as nodeTar from 'tar';
import { describe, expect, it } from 'vitest';
import { EspFormatError } from '../src/errors.js';
import { readTar, tarArchive, tarEntryHeader, tarHeader, tarRecord, writeTar } from '../src/tar.js';

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

  it('keeps the plain ustar form (one block, no PAX header) unless asked or needed', () => {
    const h = tarHeader({ path: `${'d'.repeat(120)}/f.c`, size: 5, mtime: 1700000000.75, mode: 0o600 });
    expect(h.length).toBe(512);
    expect(String.fromCharCode(h[156])).toBe('0');
    expect(new TextDecoder().decode(h.subarray(345, 465))).toBe('d'.repeat(120));
    expect(new TextDecoder().decode(h.subarray(136, 148))).toBe(`${(1700000000).toString(8).padStart(11, '0')}\0`);
    expect(new TextDecoder().decode(h.subarray(100, 108))).toBe('0000600\0');
  });

  const longPath = `build/${'a'.repeat(120)}/${'b'.repeat(120)}/${'c'.repeat(80)}/obj.o`;
  const longLink = `../${'t'.repeat(150)}/target.h`;
  const paxArchive = (): Uint8Array =>
    tarArchive([
      ...tarRecord({ path: 'build', size: 0, type: '5', mode: 0o755, mtime: '1700000000.250000', pax: true }),
      ...tarRecord({ path: longPath, size: 3, mode: 0o644, mtime: '1700000000.123456', pax: true }, enc.encode('obj')),
      ...tarRecord({ path: 'build/short.o', size: 2, mtime: '1700000001.5', pax: true }, enc.encode('hi')),
      ...tarRecord({ path: 'build/link.h', size: 0, type: '2', mode: 0o777, mtime: 1700000002, linkname: longLink }),
    ]);

  it('writes PAX headers GNU tar lists with the exact long path, link and sub-second mtime', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pax-'));
    writeFileSync(join(dir, 'p.tar'), paxArchive());
    const r = spawnSync('tar', ['--full-time', '-tvf', 'p.tar'], { cwd: dir, env: { ...process.env, TZ: 'UTC' } });
    expect(r.status, r.stderr.toString()).toBe(0);
    const lines = r.stdout.toString().trim().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^drwxr-xr-x .* 2023-11-14 22:13:20\.25 build$/);
    expect(lines[1]).toMatch(/^-rw-r--r-- .* 3 2023-11-14 22:13:20\.123456 (.*)$/);
    expect(lines[1].endsWith(` ${longPath}`)).toBe(true);
    expect(lines[2]).toMatch(/ 2023-11-14 22:13:21\.5 +build\/short\.o$/);
    // Not asked for PAX, but the link does not fit ustar: a PAX linkpath record alone, whole-second mtime.
    expect(lines[3]).toMatch(/^lrwxrwxrwx .* 2023-11-14 22:13:22 +build\/link\.h -> /);
    expect(lines[3].endsWith(` -> ${longLink}`)).toBe(true);
    const x = spawnSync('tar', ['-xf', 'p.tar'], { cwd: dir });
    expect(x.status, x.stderr.toString()).toBe(0);
    expect(readFileSync(join(dir, longPath), 'utf8')).toBe('obj');
  });

  it('writes PAX headers node-tar reads (path, linkpath, sub-second mtime), and readTar reads the PAX path', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pax-node-'));
    writeFileSync(join(dir, 'p.tar'), paxArchive());
    const seen: Array<{ path: string; type: string; mtime?: Date; linkpath?: string }> = [];
    await nodeTar.t({
      file: join(dir, 'p.tar'),
      onReadEntry: (e) => seen.push({ path: e.path, type: e.type, mtime: e.mtime, linkpath: e.linkpath }),
    });
    expect(seen.map((e) => [e.path, e.type])).toEqual([
      ['build', 'Directory'],
      [longPath, 'File'],
      ['build/short.o', 'File'],
      ['build/link.h', 'SymbolicLink'],
    ]);
    expect(seen[1].mtime?.getTime()).toBe(1700000000123);
    expect(seen[2].mtime?.getTime()).toBe(1700000001500);
    expect(seen[3].linkpath).toBe(longLink);
    expect([...readTar(paxArchive()).keys()]).toEqual([longPath, 'build/short.o']);
  });

  it('has a header writer that runs from its source text alone (how the workspace helper gets it)', () => {
    const h = { path: longPath, size: 3, mode: 0o644, mtime: '1700000000.123456', linkname: longLink, pax: true };
    const copy = runInNewContext(`var __name = (f) => f; (${tarEntryHeader.toString()})`, { TextEncoder }) as (
      x: typeof h,
    ) => Uint8Array;
    expect(Buffer.from(copy(h)).equals(Buffer.from(tarEntryHeader(h)))).toBe(true);
    expect(tarEntryHeader(h).length).toBe(512 * 4); // the PAX header, its two blocks of records, the entry
  });
});
