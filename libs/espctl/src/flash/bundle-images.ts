import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { FlashBundleManifest } from '@aegis/protocol';
import { EspctlError } from '../errors.js';
import type { FlashImage } from './serial-tools.js';

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Images to flash from a bundle's manifest.json, each part's sha256 checked. `read` gets a bundle file. */
export async function imagesFromBundle(
  manifestText: string,
  read: (file: string) => Promise<Uint8Array>,
): Promise<{ chip: string; images: FlashImage[] }> {
  let json: unknown;
  try {
    json = JSON.parse(manifestText);
  } catch {
    throw new EspctlError('bundle_invalid', 'manifest.json of the flash bundle is not valid JSON.');
  }
  const r = FlashBundleManifest.safeParse(json);
  if (!r.success) throw new EspctlError('bundle_invalid', 'manifest.json does not match the flash bundle schema.');
  const images: FlashImage[] = [];
  for (const part of r.data.parts) {
    const data = await read(part.file);
    if (data.length !== part.size || sha256(data) !== part.sha256) {
      throw new EspctlError(
        'bundle_corrupt',
        `${part.file} does not match its sha256 in manifest.json; download the firmware again.`,
      );
    }
    images.push({ address: part.offset, data, name: part.name });
  }
  return { chip: r.data.chip, images };
}

/** A firmware path: a bundle directory (with manifest.json) or a single image flashed at `address`. */
export async function imagesFromPath(firmwarePath: string, address: number): Promise<FlashImage[]> {
  let st;
  try {
    st = await stat(firmwarePath);
  } catch {
    throw new EspctlError('firmware_not_found', `${firmwarePath} does not exist.`);
  }
  if (st.isDirectory()) {
    const manifest = await readFile(path.join(firmwarePath, 'manifest.json'), 'utf8').catch(() => {
      throw new EspctlError(
        'bundle_invalid',
        `${firmwarePath} has no manifest.json; pass a flash bundle directory or a .bin file.`,
      );
    });
    const root = path.resolve(firmwarePath);
    return (
      await imagesFromBundle(manifest, async (f) => {
        const p = path.resolve(root, f);
        if (!p.startsWith(root + path.sep))
          throw new EspctlError('bundle_invalid', `Bundle path ${f} escapes the bundle.`);
        return new Uint8Array(await readFile(p));
      })
    ).images;
  }
  return [{ address, data: new Uint8Array(await readFile(firmwarePath)), name: path.basename(firmwarePath) }];
}

/** Images of a build's flash bundle read through `getFile` (artifact names like `bundle/manifest.json`). */
export async function imagesFromJob(
  artifacts: Array<{ name: string; kind: string }>,
  getFile: (name: string) => Promise<Uint8Array>,
): Promise<FlashImage[]> {
  const manifest = artifacts.find((a) => a.kind === 'bundle-manifest');
  if (!manifest) throw new EspctlError('bundle_invalid', 'The build has no flash bundle manifest.');
  const dir = manifest.name.includes('/') ? manifest.name.slice(0, manifest.name.lastIndexOf('/') + 1) : '';
  const text = new TextDecoder().decode(await getFile(manifest.name));
  return (await imagesFromBundle(text, (f) => getFile(dir + f))).images;
}
