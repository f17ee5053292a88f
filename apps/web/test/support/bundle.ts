import { buildDemoFirmware } from '@aegis/device-sim';
import { buildTestBundle, makeBundleSigner, type BundleSigner } from '@aegis/testkit/flash-bundle';
import { writeTar } from '@aegis/esp';

/** A machine-style signing key: Ed25519, public half as the JWK a machine sends with its heartbeat. */
export const signingKey = (kid = 'test-bundle-key'): Promise<BundleSigner> => makeBundleSigner(kid);

/**
 * A signed flash bundle (.tar: manifest.json, manifest.jws, files/…) for esp32c3, made from libs/device-sim's
 * demo firmware with libs/testkit's bundle builder — the same layout the build machine produces.
 */
export async function signedBundleTar(o: {
  key: BundleSigner;
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
  const bundle = await buildTestBundle(parts, {
    chip: 'esp32c3',
    project: 'hello_world',
    appVersion: '1.0.0',
    idfVersion: '5.1.6',
    machineId: o.machineId,
    createdAt: new Date().toISOString(),
    signer: o.key,
  });
  const files = [...bundle.files].map(([path, bytes]) => {
    const data = bytes.slice();
    // After signing: the manifest's sha256 no longer matches the app image.
    if (o.tamper && path === 'files/app.bin') data[200] ^= 0xff;
    return { path, data };
  });
  return Buffer.from(
    writeTar([
      { path: 'manifest.json', data: bundle.manifestBytes },
      { path: 'manifest.jws', data: new TextEncoder().encode(bundle.jws) },
      ...files,
    ]),
  );
}
