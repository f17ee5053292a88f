import { describe, expect, it } from 'vitest';
import { parseAnsi, stripAnsi } from '../src/lib/ansi';
import { diagnosticsOf, projectRelative } from '../src/lib/build/diagnostics';
import { toSizeModel } from '../src/lib/build/size-model';
import { isProxyable } from '../src/server/proxy-paths';
import { fingerprintFromSdp } from '@aegis/peer/browser';
import { backtraceAddresses } from '../src/lib/flash/backtrace';
import { readTar } from '@aegis/esp';
import { writeTar } from '@aegis/esp';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const REAL = new URL('./fixtures', import.meta.url).pathname;
const line = (seq: number, text: string) => ({ seq, ts: 0, stream: 'stdout' as const, text });

describe('log colours', () => {
  it('splits SGR colours and drops other escapes', () => {
    const segs = parseAnsi('\x1b[0;31mE (123) boot: fail\x1b[0m ok\x1b[K\r');
    expect(segs).toEqual([
      { text: 'E (123) boot: fail', fg: '#ff7b72', bold: false },
      { text: ' ok', fg: null, bold: false },
    ]);
    expect(stripAnsi('\x1b[1;32mI\x1b[0m')).toBe('I');
  });
});

describe('build diagnostics', () => {
  it('finds gcc errors and warnings with file and line, once each', () => {
    const d = diagnosticsOf([
      line(1, '[1/3] Building C object esp-idf/main/CMakeFiles/__idf_main.dir/main.c.obj'),
      line(2, "/ws/project/main/main.c:12:5: error: unknown type name 'in'"),
      line(3, "/ws/project/main/main.c:3:1: warning: unused variable 'x' [-Wunused-variable]"),
      line(4, "/ws/project/main/main.c:12:5: error: unknown type name 'in'"),
      line(5, 'ninja: build stopped: subcommand failed.'),
    ]);
    expect(d).toEqual([
      {
        file: 'main/main.c',
        line: 12,
        column: 5,
        severity: 'error',
        message: "unknown type name 'in'",
        seq: 2,
        inProject: true,
        includedFrom: [],
      },
      {
        file: 'main/main.c',
        line: 3,
        column: 1,
        severity: 'warning',
        message: "unused variable 'x' [-Wunused-variable]",
        seq: 3,
        inProject: true,
        includedFrom: [],
      },
    ]);
  });
});

describe('diagnostic paths', () => {
  it('shortens paths inside the project (/ws/project in the sandbox) and leaves the store whole', () => {
    expect(projectRelative('/ws/project/main/app.c')).toBe('main/app.c');
    expect(projectRelative('/ws/project/components/led/led.c')).toBe('components/led/led.c');
    expect(projectRelative('../main/app.c')).toBe('main/app.c');
    // A store that lives under a directory called main is not the project.
    const store = '/work/main/.test-store/idf/idf/5.1.6/esp-idf/tools/cmake/tool_version_check.cmake';
    expect(projectRelative(store)).toBe(store);
  });
});

describe('size model', () => {
  it('reads a real esp32c3 idf.py size summary and archives', () => {
    const summary = JSON.parse(readFileSync(`${REAL}/esp32c3-size/summary.json`, 'utf8')) as Record<string, unknown>;
    const archives = JSON.parse(readFileSync(`${REAL}/esp32c3-size/archives.json`, 'utf8')) as Record<string, unknown>;
    const m = toSizeModel({ summary, archives })!;
    expect(m.bars[0]).toEqual({ name: 'Flash (app partition)', used: 178180, total: null });
    expect(toSizeModel({ summary, archives }, 0x100000)!.bars[0].total).toBe(0x100000);
    expect(m.bars).toContainEqual({ name: 'D/IRAM', used: 55060, total: 321296 });
    expect(m.components[0].name).toBe('libc.a');
    expect(m.components.length).toBeLessThanOrEqual(12);
    expect(toSizeModel({ nothing: 'here' })).toBeNull();
    expect(toSizeModel(summary)!.bars[0].used).toBe(178180);
  });

  it("takes the rows from the machine's size-components answer: largest first, top 10 plus other", () => {
    const summary = JSON.parse(readFileSync(`${REAL}/esp32c3-size/summary.json`, 'utf8')) as Record<string, unknown>;
    const archives = JSON.parse(readFileSync(`${REAL}/esp32c3-size/archives.json`, 'utf8')) as Record<
      string,
      { flash_total: number; ram_st_total: number }
    >;
    const m = toSizeModel(summary, null, archives)!;
    const all = Object.values(archives).filter((a) => a.flash_total + a.ram_st_total > 0);
    expect(all.length).toBeGreaterThan(11);
    expect(m.components).toHaveLength(11);
    expect(m.components[0].name).toBe('libc.a');
    const totals = m.components.slice(0, 10).map((c) => c.flash + c.ram);
    expect(totals).toEqual([...totals].sort((a, b) => b - a));
    const other = m.components[10];
    expect(other.name).toBe(`other (${all.length - 10})`);
    // Nothing lost: the named rows and "other" add up to every archive's flash.
    expect(m.components.reduce((n, c) => n + c.flash, 0)).toBe(all.reduce((n, a) => n + a.flash_total, 0));
    // An unreadable components answer drops only the rows; the bars stay.
    const broken = toSizeModel(summary, null, { not: 'a table' })!;
    expect(broken.components).toEqual([]);
    expect(broken.bars[0].used).toBe(178180);
  });
});

describe('proxy allow-list', () => {
  const id = '0b0e7a1c-8a9b-4c3d-9e8f-112233445566';
  it('lets user routes through and keeps machine/admin routes out', () => {
    for (const p of [
      'me',
      'machines',
      'jobs',
      `jobs/${id}`,
      `jobs/${id}/cancel`,
      'grant/request',
      `signaling/${id}/events`,
      `flash-requests/${id}/confirm`,
    ])
      expect(isProxyable(p.split('/')), p).toBe(true);
    for (const p of [
      'agents/jobs',
      'users',
      'keys',
      `signaling/${id}/answer`,
      'mcp',
      'jobs/../agents',
      `jobs/${id}/../../users`,
    ])
      expect(isProxyable(p.split('/')), p).toBe(false);
  });
});

describe('sdp fingerprint', () => {
  it('reads the sha-256 fingerprint', () => {
    const sdp = 'v=0\r\na=fingerprint:sha-256 ab:CD:01\r\na=setup:actpass\r\n';
    expect(fingerprintFromSdp(sdp)).toEqual({ algorithm: 'sha-256', value: 'AB:CD:01' });
    expect(fingerprintFromSdp('v=0\r\n')).toBeUndefined();
  });
});

describe('panic addresses', () => {
  it('takes the PCs of an Xtensa backtrace and RISC-V MEPC/RA, once each', () => {
    const xtensa = 'Backtrace: 0x400d1a2b:0x3ffb1f00 0x400d2c3d:0x3ffb1f20 0x400d1a2b:0x3ffb1f40';
    expect(backtraceAddresses(xtensa)).toEqual(['0x400d1a2b', '0x400d2c3d']);
    const riscv = 'MEPC    : 0x42000abc  RA      : 0x42000c10  SP      : 0x3fc8f000\nMTVAL   : 0x00000000';
    expect(backtraceAddresses(riscv)).toEqual(['0x42000abc', '0x42000c10']);
    expect(backtraceAddresses('I (10) boot: ok')).toEqual([]);
  });
});

describe('tar reader', () => {
  it('reads our own archives and GNU tar ones (long names included)', () => {
    const long = `files/${'d'.repeat(90)}/${'e'.repeat(60)}.bin`;
    const ours = readTar(
      writeTar([
        { path: 'manifest.json', data: new TextEncoder().encode('{}') },
        { path: long, data: new Uint8Array([1, 2, 3]) },
      ]),
    );
    expect([...ours.keys()]).toEqual(['manifest.json', long]);
    const dir = mkdtempSync(join(tmpdir(), 'untar-'));
    mkdirSync(join(dir, 'b/files'), { recursive: true });
    writeFileSync(join(dir, 'b/manifest.json'), '{"v":1}');
    writeFileSync(join(dir, 'b/files', 'x'.repeat(120)), 'abc');
    expect(spawnSync('tar', ['--format=gnu', '-cf', 'b.tar', 'b'], { cwd: dir }).status).toBe(0);
    const gnu = readTar(new Uint8Array(readFileSync(join(dir, 'b.tar'))));
    expect(new TextDecoder().decode(gnu.get('b/manifest.json'))).toBe('{"v":1}');
    expect(new TextDecoder().decode(gnu.get(`b/files/${'x'.repeat(120)}`))).toBe('abc');
  });
});
