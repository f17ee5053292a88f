import { encodeManifest, signBundleManifest } from '@aegis/esp';
import type { FlashBundleManifest } from '@aegis/protocol';
import { sha256 } from '@noble/hashes/sha2.js';
import type { FirmwarePart } from '@aegis/device-sim';
import type { FlashBundleInput } from '@aegis/flasher';

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

export interface TestKeys {
  privateKey: CryptoKey;
  publicJwk: JsonWebKey;
}

export async function makeKeys(): Promise<TestKeys> {
  const pair = (await crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify'])) as CryptoKeyPair;
  return { privateKey: pair.privateKey, publicJwk: await crypto.subtle.exportKey('jwk', pair.publicKey) };
}

export type BundlePart = { name: string; offset: number; data: Uint8Array };

/** A signed bundle (manifest.json bytes, manifest.jws, files/) as a build machine makes it. */
export async function makeBundle(
  parts: readonly (FirmwarePart | BundlePart)[],
  chip: FlashBundleManifest['chip'],
  keys: TestKeys,
  project = 'demo',
): Promise<FlashBundleInput & { manifest: FlashBundleManifest }> {
  const manifest: FlashBundleManifest = {
    v: 1,
    project,
    app_version: '1.0.0',
    chip,
    idf_version: 'v5.3.1',
    flash: { mode: 'dio', freq: '80m', size: '4MB' },
    parts: parts.map((p) => ({
      name: p.name,
      offset: p.offset,
      size: p.data.length,
      sha256: hex(sha256(p.data)),
      file: `files/${p.name}.bin`,
    })),
    created_at: '2026-11-25T09:00:00.000Z',
  };
  const manifestBytes = encodeManifest(manifest);
  const jws = await signBundleManifest(manifestBytes, keys.privateKey, 'machine-test');
  const files = new Map(parts.map((p) => [`files/${p.name}.bin`, p.data] as const));
  return { manifest, manifestBytes, jws, files };
}

/** Sector indices (absolute) where two images placed at `offset` differ, including a length change. */
export function changedSectors(a: Uint8Array, b: Uint8Array, offset: number): number[] {
  const out: number[] = [];
  const n = Math.max(a.length, b.length);
  for (let s = 0; s * 4096 < n; s++) {
    const x = a.subarray(s * 4096, (s + 1) * 4096);
    const y = b.subarray(s * 4096, (s + 1) * 4096);
    if (x.length !== y.length || x.some((v, i) => v !== y[i])) out.push(offset / 4096 + s);
  }
  return out;
}
