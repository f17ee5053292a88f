import { encodeManifest, sha256Hex, signBundleManifest, type SigningKey } from '@aegis/esp';
import type { FlashBundleManifest } from '@aegis/protocol';
import type { webcrypto } from 'node:crypto';

// Browser-safe (WebCrypto, libs/esp; node:crypto only for types): the flasher's Chromium test bundles it into a page.

export interface BundlePart {
  name: string;
  offset: number;
  data: Uint8Array;
}

/** An Ed25519 key pair as a build machine holds it: the private half signs, the public JWK is what clients trust. */
export interface BundleSigner {
  privateKey: SigningKey;
  kid: string;
  publicJwk: webcrypto.JsonWebKey;
}

export interface TestBundleOptions {
  chip: FlashBundleManifest['chip'];
  /** Default `demo`. */
  project?: string;
  appVersion?: string;
  /** Default `v5.3.1`. */
  idfVersion?: string;
  /** Default dio / 80m / 4MB. */
  flash?: FlashBundleManifest['flash'];
  machineId?: string;
  /** Default a fixed time, so manifests are reproducible. */
  createdAt?: string;
  /** Sign manifest.json with this key (manifest.jws); without one the bundle is unsigned. */
  signer?: BundleSigner;
}

/** A flash bundle as a build machine writes it: manifest.json bytes, manifest.jws, and files/<part>.bin. */
export interface TestBundle {
  manifest: FlashBundleManifest;
  manifestBytes: Uint8Array;
  jws?: string;
  /** Bundle-relative path (`files/app.bin`) → bytes. */
  files: Map<string, Uint8Array>;
}

/** A fresh Ed25519 signing key (extractable, so tests can also hand it to another process). */
export async function makeBundleSigner(kid = 'test-bundle-key'): Promise<BundleSigner> {
  const pair = (await crypto.subtle.generateKey({ name: 'Ed25519' }, true, [
    'sign',
    'verify',
  ])) as webcrypto.CryptoKeyPair;
  return {
    privateKey: pair.privateKey,
    kid,
    publicJwk: { ...(await crypto.subtle.exportKey('jwk', pair.publicKey)), kid } as webcrypto.JsonWebKey,
  };
}

/** The bundle for `parts` (e.g. libs/device-sim's buildDemoFirmware), signed when a signer is given. */
export async function buildTestBundle(parts: readonly BundlePart[], options: TestBundleOptions): Promise<TestBundle> {
  const manifest: FlashBundleManifest = {
    v: 1,
    project: options.project ?? 'demo',
    ...(options.appVersion ? { app_version: options.appVersion } : {}),
    chip: options.chip,
    idf_version: options.idfVersion ?? 'v5.3.1',
    flash: options.flash ?? { mode: 'dio', freq: '80m', size: '4MB' },
    parts: parts.map((p) => ({
      name: p.name,
      offset: p.offset,
      size: p.data.length,
      sha256: sha256Hex(p.data),
      file: `files/${p.name}.bin`,
    })),
    ...(options.machineId ? { machine_id: options.machineId } : {}),
    created_at: options.createdAt ?? '2026-11-25T09:00:00.000Z',
  };
  const manifestBytes = encodeManifest(manifest);
  const jws = options.signer
    ? await signBundleManifest(manifestBytes, options.signer.privateKey, options.signer.kid)
    : undefined;
  const files = new Map(parts.map((p) => [`files/${p.name}.bin`, p.data] as const));
  return { manifest, manifestBytes, ...(jws ? { jws } : {}), files };
}
