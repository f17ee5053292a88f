import type { Artifact, FlashBundleManifest } from '@aegis/protocol';
import type { FlashBundleInput } from '@aegis/flasher';
import { FlashBundleManifest as ManifestSchema } from '@aegis/protocol';
import type { FirmwareClient } from '@aegis/peer/browser';
import { writeTar, type TarEntry } from '@aegis/esp';

/** A downloaded flash bundle: the exact manifest bytes, its signature and every part's file by bundle path. */
export interface DownloadedBundle {
  manifest: FlashBundleManifest;
  input: FlashBundleInput;
}

/**
 * Fetches the bundle over the firmware channel. The machine lists it as `bundle/manifest.json`,
 * `bundle/manifest.jws` and `bundle/<part file>`; each download is sha256-checked against its header, and
 * the signature and part hashes are checked again by libs/flasher before anything is written.
 */
export async function fetchBundle(fw: FirmwareClient, artifacts: readonly Artifact[]): Promise<DownloadedBundle> {
  const byKind = (k: Artifact['kind']) => artifacts.find((a) => a.kind === k);
  const mArt = byKind('bundle-manifest');
  if (!mArt) throw new Error('This build has no flash bundle (no manifest among its artifacts).');
  const prefix = mArt.name.slice(0, mArt.name.length - 'manifest.json'.length);
  const manifestBytes = (await fw.fetch(mArt.name)).data;
  const sArt = byKind('bundle-signature');
  const jws = sArt ? new TextDecoder().decode((await fw.fetch(sArt.name)).data).trim() : undefined;
  const manifest = ManifestSchema.parse(JSON.parse(new TextDecoder().decode(manifestBytes)));
  const files = new Map<string, Uint8Array>();
  for (const p of manifest.parts) files.set(p.file, (await fw.fetch(`${prefix}${p.file}`)).data);
  return { manifest, input: { manifestBytes, jws, files } };
}

/** The flash bundle as one .tar: manifest.json, manifest.jws and files/…, as the machine built it. */
export function bundleTar(b: DownloadedBundle): Uint8Array {
  const entries: TarEntry[] = [{ path: 'manifest.json', data: b.input.manifestBytes }];
  if (b.input.jws) entries.push({ path: 'manifest.jws', data: new TextEncoder().encode(b.input.jws) });
  for (const [path, data] of b.input.files as Map<string, Uint8Array>) entries.push({ path, data });
  return writeTar(entries);
}
