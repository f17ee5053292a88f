import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { FlashBundleManifest } from '@aegis/protocol';
import { EspctlError } from '../errors.js';
import type { FlashBundleFiles } from './serial-tools.js';

function parseManifest(bytes: Uint8Array): FlashBundleManifest {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    throw new EspctlError('bundle_invalid', 'manifest.json of the flash bundle is not valid JSON.');
  }
  const r = FlashBundleManifest.safeParse(json);
  if (!r.success) throw new EspctlError('bundle_invalid', 'manifest.json does not match the flash bundle schema.');
  return r.data;
}

/** A bundle directory on disk: manifest.json, manifest.jws (if present) and the files the manifest names. */
export async function bundleFromDir(dir: string): Promise<{ bundle: FlashBundleFiles; manifest: FlashBundleManifest }> {
  const st = await stat(dir).catch(() => undefined);
  if (!st) throw new EspctlError('firmware_not_found', `${dir} does not exist.`);
  if (!st.isDirectory()) {
    throw new EspctlError(
      'bundle_invalid',
      `${dir} is not a flash bundle directory (manifest.json + files); download one with espctl download.`,
    );
  }
  const root = path.resolve(dir);
  const manifestBytes = new Uint8Array(
    await readFile(path.join(root, 'manifest.json')).catch(() => {
      throw new EspctlError('bundle_invalid', `${dir} has no manifest.json; pass a flash bundle directory.`);
    }),
  );
  const manifest = parseManifest(manifestBytes);
  const jws = await readFile(path.join(root, 'manifest.jws'), 'utf8').catch(() => undefined);
  const files = new Map<string, Uint8Array>();
  for (const part of manifest.parts) {
    const p = path.resolve(root, part.file);
    if (!p.startsWith(root + path.sep))
      throw new EspctlError('bundle_invalid', `Bundle path ${part.file} escapes the bundle.`);
    const data = await readFile(p).catch(() => {
      throw new EspctlError('bundle_invalid', `${part.file} named by manifest.json is missing.`);
    });
    files.set(part.file, new Uint8Array(data));
  }
  return { bundle: { manifestBytes, jws: jws?.trim(), files }, manifest };
}

/** A build's flash bundle read through `getFile` (artifact names like `bundle/manifest.json`). */
export async function bundleFromJob(
  artifacts: Array<{ name: string; kind: string }>,
  getFile: (name: string) => Promise<Uint8Array>,
): Promise<{ bundle: FlashBundleFiles; manifest: FlashBundleManifest }> {
  const m = artifacts.find((a) => a.kind === 'bundle-manifest');
  if (!m) throw new EspctlError('bundle_invalid', 'The build has no flash bundle manifest.');
  const dir = m.name.includes('/') ? m.name.slice(0, m.name.lastIndexOf('/') + 1) : '';
  const manifestBytes = await getFile(m.name);
  const manifest = parseManifest(manifestBytes);
  const sig = artifacts.find((a) => a.kind === 'bundle-signature');
  const jws = sig ? new TextDecoder().decode(await getFile(sig.name)).trim() : undefined;
  const files = new Map<string, Uint8Array>();
  for (const part of manifest.parts) files.set(part.file, await getFile(dir + part.file));
  return { bundle: { manifestBytes, jws, files }, manifest };
}
