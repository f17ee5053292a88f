import { toEspWebToolsManifest } from '@aegis/esp';
import type { FlashBundleManifest } from '@aegis/protocol';
import { writeZip, type ZipEntry } from '../zip/zip-writer';

/**
 * An ESP Web Tools manifest with its parts, as one self-contained zip: `manifest.json` at the top and each part at
 * the relative path the manifest names (`files/app.bin`…). Unzipped onto any web server, the manifest works as is.
 */
export function webToolsZip(manifest: FlashBundleManifest, files: ReadonlyMap<string, Uint8Array>): Uint8Array {
  const web = toEspWebToolsManifest(manifest);
  const parts = web.builds.flatMap((b) => b.parts);
  const entries: ZipEntry[] = [
    { path: 'manifest.json', data: new TextEncoder().encode(`${JSON.stringify(web, null, 2)}\n`) },
  ];
  for (const p of parts) {
    const data = files.get(p.path);
    if (!data) throw new Error(`The bundle has no ${p.path}; download the build's bundle again.`);
    entries.push({ path: p.path, data });
  }
  return writeZip(entries);
}
