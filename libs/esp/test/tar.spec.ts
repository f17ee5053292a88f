import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TarError, writeTar } from '../src/lib/tar/ustar';

const enc = new TextEncoder();

describe('ustar writer', () => {
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
    expect(() => writeTar([f('../evil')])).toThrow(TarError);
    expect(() => writeTar([f('/etc/passwd')])).toThrow(TarError);
    expect(() => writeTar([f('a/../../b')])).toThrow(TarError);
    expect(() => writeTar([f('a'), f('a')])).toThrow(/twice/);
    expect(() => writeTar([f('x'.repeat(300))])).toThrow(/too long/);
  });
});
