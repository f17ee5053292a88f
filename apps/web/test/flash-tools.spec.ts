import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FlashBundleManifest, type MachineKeyView } from '@aegis/protocol';
import { describe, expect, it } from 'vitest';
import { checkDiyLayout, diyBundle, parseHexOffset } from '../src/lib/flash/diy-layout';
import { bundleKeyOf, jwsKid } from '../src/lib/flash/machine-keys';
import { isProxyable } from '../src/server/proxy-paths';
import { webToolsZip } from '../src/lib/flash/web-tools-zip';
import { unzip } from '../src/lib/project/unzip';
import { writeZip } from '../src/lib/zip/zip-writer';

const b64url = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const bytes = (n: number, fill = 1) => new Uint8Array(n).fill(fill);

describe('signature key lookup by the JWS kid', () => {
  const key: MachineKeyView = {
    kid: 'bundle-0123456789abcdef',
    machine_id: '00000000-0000-4000-8000-000000000001',
    machine_name: 'builder-1',
    online: false,
    public_jwk: { kty: 'OKP', crv: 'Ed25519', x: 'abc', kid: 'bundle-0123456789abcdef' },
  };
  const jws = (header: unknown) => `${b64url(header)}.${b64url({ any: 1 })}.sig`;

  it('reads the kid from the protected header and finds the machine that published it', () => {
    expect(jwsKid(jws({ alg: 'EdDSA', kid: key.kid }))).toBe(key.kid);
    expect(bundleKeyOf(jws({ alg: 'EdDSA', kid: key.kid }), [key])).toMatchObject({ state: 'found', key });
  });

  it('reaches GET /machines/keys through the dashboard proxy, and nothing beside it', () => {
    expect(isProxyable(['machines', 'keys'])).toBe(true);
    expect(isProxyable(['machines', 'keys', 'x'])).toBe(false);
    expect(isProxyable(['machines', 'other'])).toBe(false);
  });

  it('refuses an unknown kid, a header without one, and garbage, saying what to do', () => {
    const unknown = bundleKeyOf(jws({ alg: 'EdDSA', kid: 'bundle-ffff' }), [key]);
    expect(unknown).toMatchObject({ state: 'unknown', kid: 'bundle-ffff' });
    expect((unknown as { message: string }).message).toMatch(/bundle-ffff.*no build machine you can use/);
    expect(bundleKeyOf(jws({ alg: 'EdDSA' }), [key])).toMatchObject({ state: 'unknown', kid: null });
    expect(bundleKeyOf('%%%.x.y', [key])).toMatchObject({ state: 'unknown', kid: null });
    expect(bundleKeyOf(null, [key])).toEqual({ state: 'unsigned' });
  });
});

describe('DIY layout', () => {
  const f = (name: string, offsetText: string, size = 0x1000) => ({ name, offsetText, data: bytes(size) });

  it('parses hex offsets as esptool writes them', () => {
    expect(parseHexOffset('0x10000')).toBe(0x10000);
    expect(parseHexOffset('8000')).toBe(0x8000);
    expect(parseHexOffset(' 0X1_0000 ')).toBe(0x10000);
    expect(parseHexOffset('65536z')).toBeNull();
    expect(parseHexOffset('')).toBeNull();
  });

  it('accepts files on sectors that do not overlap and fit', () => {
    const r = checkDiyLayout([f('a.bin', '0x0', 0x1800), f('b.bin', '0x2000')], 4 << 20);
    expect(r).toMatchObject({ ok: true, parts: [{ offset: 0 }, { offset: 0x2000 }] });
  });

  it('names every problem with its file: alignment, bad hex, overlap, beyond flash, empty', () => {
    const r = checkDiyLayout(
      [
        f('boot.bin', '0x1001'),
        f('junk.bin', 'zz'),
        f('a.bin', '0x10000', 0x2000),
        f('b.bin', '0x11000'),
        f('big.bin', '0x3ff000', 0x2000),
        { name: 'empty.bin', offsetText: '0x20000', data: new Uint8Array(0) },
      ],
      4 << 20,
    );
    expect(r.ok).toBe(false);
    const text = (r as { problems: string[] }).problems.join('\n');
    expect(text).toMatch(/boot\.bin: 0x1001 is not on a 4 KiB sector boundary.*use 0x1000 or 0x2000/);
    expect(text).toMatch(/junk\.bin: “zz” is not a hex offset/);
    expect(text).toMatch(/a\.bin \(0x10000–0x12000\) and b\.bin \(at 0x11000\) overlap/);
    expect(text).toMatch(/big\.bin ends at 0x401000, beyond this board's 4 MB flash/);
    expect(text).toMatch(/empty\.bin is empty/);
  });

  it('makes an unsigned bundle for the detected chip that the protocol accepts', async () => {
    const r = checkDiyLayout([f('x.bin', '0x0'), f('x.bin', '0x8000')], null);
    if (!r.ok) throw new Error(r.problems.join());
    const b = await diyBundle(r.parts, 'esp32c3');
    const m = FlashBundleManifest.parse(JSON.parse(new TextDecoder().decode(b.manifestBytes)));
    expect(m.chip).toBe('esp32c3');
    expect(m.parts.map((p) => [p.name, p.offset])).toEqual([
      ['x.bin', 0],
      ['x.bin #2', 0x8000],
    ]);
    expect(b.jws).toBeUndefined();
  });
});

describe('zip writer and the ESP Web Tools zip', () => {
  it('writes zips that Info-ZIP tests clean and our reader reads back', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zipw-'));
    const zip = writeZip([
      { path: 'manifest.json', data: new TextEncoder().encode('{}') },
      { path: 'files/app.bin', data: bytes(70_000, 0xa5) },
    ]);
    writeFileSync(join(dir, 'a.zip'), zip);
    expect(execFileSync('unzip', ['-t', join(dir, 'a.zip')]).toString()).toMatch(/No errors detected/);
    const back = await unzip(zip);
    expect(back.map((e) => e.path).sort()).toEqual(['files/app.bin', 'manifest.json']);
    expect(() => writeZip([{ path: '../x', data: bytes(1) }])).toThrow(/relative path/);
  });

  it('puts manifest.json and every part at the relative path it names', () => {
    const files = new Map([
      ['files/bootloader.bin', bytes(0x5000, 2)],
      ['files/app.bin', bytes(0x9000, 3)],
    ]);
    const manifest = FlashBundleManifest.parse({
      v: 1,
      project: 'hello_world',
      chip: 'esp32c3',
      idf_version: '5.1.6',
      flash: { mode: 'dio', freq: '80m', size: '2MB' },
      parts: [
        { name: 'app', offset: 0x10000, size: 0x9000, sha256: 'a'.repeat(64), file: 'files/app.bin' },
        { name: 'bootloader', offset: 0, size: 0x5000, sha256: 'b'.repeat(64), file: 'files/bootloader.bin' },
      ],
      created_at: new Date().toISOString(),
    });
    const dir = mkdtempSync(join(tmpdir(), 'webtools-'));
    writeFileSync(join(dir, 'w.zip'), webToolsZip(manifest, files));
    execFileSync('unzip', ['-q', join(dir, 'w.zip'), '-d', join(dir, 'out')]);
    const web = JSON.parse(readFileSync(join(dir, 'out', 'manifest.json'), 'utf8'));
    expect(web.builds[0].chipFamily).toBe('ESP32-C3');
    for (const p of web.builds[0].parts) {
      expect(p.path).not.toMatch(/^\/|\.\./);
      expect(new Uint8Array(readFileSync(join(dir, 'out', p.path)))).toEqual(files.get(p.path));
    }
    expect(() => webToolsZip(manifest, new Map())).toThrow(/no files\/bootloader\.bin/);
  });
});
