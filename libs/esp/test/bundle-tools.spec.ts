import { exportJWK, generateKeyPair } from 'jose';
import { describe, expect, it } from 'vitest';
import { EspWebToolsManifest } from '@aegis/protocol';
import {
  buildBundleManifest,
  encodeManifest,
  mergeParts,
  readAppImage,
  signBundleManifest,
  toEspWebToolsManifest,
  verifyBundleFiles,
  verifyBundleManifest,
} from '../src/index.js';
import { buildDirFiles, realText } from './real-data.js';
import { codeOf, codeOfAsync } from './error-code.js';

const BUILD = '203Null__esp32-microlight';
const bundle = () =>
  buildBundleManifest({
    flasherArgs: realText(BUILD, 'build', 'flasher_args.json'),
    projectDescription: realText(BUILD, 'build', 'project_description.json'),
    files: buildDirFiles(BUILD),
    createdAt: '2026-11-25T10:00:00.000Z',
    machineId: 'machine-1',
  });

describe('ESP Web Tools export', () => {
  it('maps chip to chipFamily and parts to path/offset', () => {
    const { manifest } = bundle();
    const web = toEspWebToolsManifest(manifest, { pathPrefix: 'https://example.test/b/', version: '1.0' });
    expect(EspWebToolsManifest.parse(web)).toEqual(web);
    expect(web).toEqual({
      name: 'main',
      version: '1.0',
      builds: [
        {
          chipFamily: 'ESP32-S3',
          parts: [
            { path: 'https://example.test/b/files/bootloader/bootloader.bin', offset: 0 },
            { path: 'https://example.test/b/files/partition_table/partition-table.bin', offset: 0x8000 },
            { path: 'https://example.test/b/files/main.bin', offset: 0x10000 },
          ],
        },
      ],
    });
    expect(toEspWebToolsManifest({ ...manifest, chip: 'esp32c3' }).builds[0].chipFamily).toBe('ESP32-C3');
  });
});

describe('mergeParts', () => {
  it('merges the real bundle: every part at its offset, 0xFF in the gaps', () => {
    const { manifest, files } = bundle();
    const merged = mergeParts(manifest.parts.map((p, i) => ({ offset: p.offset, data: files[i].bytes, name: p.name })));
    const app = manifest.parts[2];
    expect(merged.length).toBe(app.offset + app.size);
    expect(readAppImage(merged.subarray(0)).header.chip).toBe('esp32s3');
    expect(readAppImage(merged.subarray(app.offset)).sha256?.valid).toBe(true);
    const bootEnd = manifest.parts[0].size;
    expect(merged.subarray(bootEnd, 0x8000).every((b) => b === 0xff)).toBe(true);
  });

  it('pads to a flash size and refuses parts beyond it or overlapping', () => {
    const a = { offset: 0x1000, data: new Uint8Array([1, 2, 3]) };
    const b = { offset: 0x2000, data: new Uint8Array([4]) };
    const m = mergeParts([b, a], { flashSize: 0x4000, fill: 0x00 });
    expect(m.length).toBe(0x4000);
    expect(Array.from(m.subarray(0x1000, 0x1004))).toEqual([1, 2, 3, 0]);
    expect(m[0x2000]).toBe(4);
    expect(mergeParts([a], { flashSize: '1MB' }).length).toBe(0x100000);
    expect(codeOf(() => mergeParts([a, { offset: 0x1002, data: new Uint8Array(4), name: 'app' }]))).toBe(
      'overlapping_parts',
    );
    expect(codeOf(() => mergeParts([{ offset: 0x3fff, data: new Uint8Array(2) }], { flashSize: 0x4000 }))).toBe(
      'part_beyond_flash',
    );
    expect(mergeParts([]).length).toBe(0);
  });
});

describe('bundle signature (EdDSA compact JWS over manifest.json bytes)', () => {
  it('signs, verifies, and checks files', async () => {
    const { privateKey, publicKey } = await generateKeyPair('Ed25519', { extractable: true });
    const jwk = await exportJWK(publicKey);
    const { manifest, files } = bundle();
    const bytes = encodeManifest(manifest);
    const jws = await signBundleManifest(bytes, privateKey, 'machine-1-key');
    expect(jws.split('.')).toHaveLength(3);
    const header = JSON.parse(
      new TextDecoder().decode(
        Uint8Array.from(atob(jws.split('.')[0].replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0)),
      ),
    );
    expect(header).toEqual({ alg: 'EdDSA', kid: 'machine-1-key' });
    expect(await verifyBundleManifest(bytes, jws, jwk)).toEqual(manifest);
    const map = new Map(files.map((f) => [f.path, f.bytes]));
    expect(() => verifyBundleFiles(manifest, map)).not.toThrow();
    expect(() => verifyBundleFiles(manifest, Object.fromEntries(map))).not.toThrow();
    expect(() => verifyBundleFiles(manifest, (p) => map.get(p))).not.toThrow();
  });

  it('refuses a forged signature, a different key, an altered manifest, and bad files', async () => {
    const { privateKey, publicKey } = await generateKeyPair('Ed25519', { extractable: true });
    const other = await generateKeyPair('Ed25519', { extractable: true });
    const { manifest, files } = bundle();
    const bytes = encodeManifest(manifest);
    const jws = await signBundleManifest(bytes, privateKey, 'k');
    expect(await codeOfAsync(() => verifyBundleManifest(bytes, jws, { kty: 'OKP', crv: 'Ed25519', x: 'AAAA' }))).toBe(
      'bad_signature',
    );
    expect(await codeOfAsync(async () => verifyBundleManifest(bytes, jws, await exportJWK(other.publicKey)))).toBe(
      'bad_signature',
    );
    const parts = jws.split('.');
    const tampered = `${parts[0]}.${parts[1]}.${parts[2].slice(0, -4)}AAAA`;
    const pub = await exportJWK(publicKey);
    expect(await verifyBundleManifest(bytes, jws, pub)).toEqual(manifest);
    expect(await codeOfAsync(() => verifyBundleManifest(bytes, tampered, pub))).toBe('bad_signature');

    const kp = await generateKeyPair('Ed25519', { extractable: true });
    const good = await signBundleManifest(bytes, kp.privateKey, 'k');
    const altered = encodeManifest({ ...manifest, project: 'evil' });
    expect(await codeOfAsync(async () => verifyBundleManifest(altered, good, await exportJWK(kp.publicKey)))).toBe(
      'manifest_mismatch',
    );
    const notAManifest = new TextEncoder().encode('{"v":1}');
    const signedJunk = await signBundleManifest(notAManifest, kp.privateKey, 'k');
    expect(
      await codeOfAsync(async () => verifyBundleManifest(notAManifest, signedJunk, await exportJWK(kp.publicKey))),
    ).toBe('bad_manifest');

    const map = new Map(files.map((f) => [f.path, f.bytes]));
    const first = manifest.parts[0].file;
    expect(codeOf(() => verifyBundleFiles(manifest, (p) => (p === first ? undefined : map.get(p))))).toBe(
      'missing_file',
    );
    expect(codeOf(() => verifyBundleFiles(manifest, (p) => (p === first ? map.get(p)!.subarray(1) : map.get(p))))).toBe(
      'size_mismatch',
    );
    expect(
      codeOf(() =>
        verifyBundleFiles(manifest, (p) => {
          const b = map.get(p)!;
          if (p !== first) return b;
          const c = b.slice();
          c[5] ^= 0xff;
          return c;
        }),
      ),
    ).toBe('sha256_mismatch');
  });
});
