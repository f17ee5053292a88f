import type { FlashBundleInput } from '@aegis/flasher';
import { FlashBundleManifest } from '@aegis/protocol';
import { readTar } from '@aegis/esp';

/** A flash bundle from a .tar the dashboard (or the machine) made: manifest.json, manifest.jws, files/…. */
export function bundleFromTar(bytes: Uint8Array): { input: FlashBundleInput; manifest: FlashBundleManifest } {
  const files = readTar(bytes);
  // Accept the bundle at the top or inside one folder (e.g. bundle/manifest.json).
  const mPath = [...files.keys()].find((p) => p === 'manifest.json' || /^[^/]+\/manifest\.json$/.test(p));
  if (!mPath)
    throw Object.assign(new Error('This archive has no manifest.json; it is not a flash bundle.'), {
      code: 'bad_bundle',
    });
  const prefix = mPath.slice(0, -'manifest.json'.length);
  const manifestBytes = files.get(mPath)!;
  let manifest: FlashBundleManifest;
  try {
    manifest = FlashBundleManifest.parse(JSON.parse(new TextDecoder().decode(manifestBytes)));
  } catch {
    throw Object.assign(new Error('manifest.json in this archive is not a valid flash bundle manifest.'), {
      code: 'bad_bundle',
    });
  }
  const jwsBytes = files.get(`${prefix}manifest.jws`);
  const parts = new Map<string, Uint8Array>();
  for (const p of manifest.parts) {
    const f = files.get(`${prefix}${p.file}`);
    if (f) parts.set(p.file, f);
  }
  return {
    manifest,
    input: { manifestBytes, jws: jwsBytes ? new TextDecoder().decode(jwsBytes).trim() : undefined, files: parts },
  };
}
