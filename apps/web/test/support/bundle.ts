import { buildDemoFirmware } from '@aegis/device-sim';
import { signBundleManifest } from '@aegis/esp';
import { createHash } from 'node:crypto';
import { exportJWK, generateKeyPair } from 'jose';
import { writeTar } from '../../src/lib/tar/ustar';

/** A machine-style signing key: Ed25519, public half as the JWK a machine sends with its heartbeat. */
export async function signingKey(kid = 'test-bundle-key') {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', { extractable: true });
  return { privateKey, kid, publicJwk: { ...(await exportJWK(publicKey)), kid } };
}

/**
 * A signed flash bundle (.tar: manifest.json, manifest.jws, files/…) for esp32c3, made from libs/device-sim's
 * demo firmware with libs/esp's signer — the same layout the build machine produces.
 */
export async function signedBundleTar(o: {
  key: Awaited<ReturnType<typeof signingKey>>;
  machineId: string;
  seed?: number;
  tamper?: boolean;
}): Promise<Buffer> {
  const parts = buildDemoFirmware({
    chip: 'esp32c3',
    projectName: 'hello_world',
    appSize: 96 * 1024,
    seed: o.seed ?? 1,
  });
  const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
  const manifest = {
    v: 1,
    project: 'hello_world',
    app_version: '1.0.0',
    chip: 'esp32c3',
    idf_version: 'test-1.0',
    flash: { mode: 'dio', freq: '80m', size: '4MB' },
    parts: parts.map((p) => ({
      name: p.name,
      offset: p.offset,
      size: p.data.length,
      sha256: sha(p.data),
      file: `files/${p.name}.bin`,
    })),
    machine_id: o.machineId,
    created_at: new Date().toISOString(),
  };
  const manifestBytes = new TextEncoder().encode(JSON.stringify(manifest, null, 2));
  const jws = await signBundleManifest(manifestBytes, o.key.privateKey, o.key.kid);
  const files = parts.map((p) => {
    const data = p.data.slice();
    if (o.tamper && p.name === 'app') data[200] ^= 0xff;
    return { path: `files/${p.name}.bin`, data };
  });
  return Buffer.from(
    writeTar([
      { path: 'manifest.json', data: manifestBytes },
      { path: 'manifest.jws', data: new TextEncoder().encode(jws) },
      ...files,
    ]),
  );
}
