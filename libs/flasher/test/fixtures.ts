import type { FirmwarePart } from '@aegis/device-sim';
import type { FlashBundleInput } from '@aegis/flasher';
import type { FlashBundleManifest } from '@aegis/protocol';
import { buildTestBundle, makeBundleSigner, type BundlePart, type BundleSigner } from '@aegis/testkit/flash-bundle';

export type TestKeys = BundleSigner;

export const makeKeys = (): Promise<TestKeys> => makeBundleSigner('machine-test');

/** A signed bundle (manifest.json bytes, manifest.jws, files/) as a build machine makes it. */
export function makeBundle(
  parts: readonly (FirmwarePart | BundlePart)[],
  chip: FlashBundleManifest['chip'],
  keys: TestKeys,
  project = 'demo',
): Promise<FlashBundleInput & { manifest: FlashBundleManifest }> {
  return buildTestBundle(parts, { chip, project, appVersion: '1.0.0', signer: keys });
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
