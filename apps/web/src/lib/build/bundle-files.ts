import type { FlashBundleManifest, EspWebToolsManifest } from '@aegis/protocol';
import type { FirmwareClient } from '../rtc/firmware-client';
import { writeTar, type TarEntry } from '../tar/ustar';

const CHIP_FAMILY: Record<string, EspWebToolsManifest['builds'][number]['chipFamily']> = {
  esp32: 'ESP32',
  esp32s2: 'ESP32-S2',
  esp32s3: 'ESP32-S3',
  esp32c2: 'ESP32-C2',
  esp32c3: 'ESP32-C3',
  esp32c5: 'ESP32-C5',
  esp32c6: 'ESP32-C6',
  esp32h2: 'ESP32-H2',
  esp32p4: 'ESP32-P4',
};

/** Downloads every part of the bundle over the firmware channel (each sha256-checked by the client). */
export async function fetchParts(fw: FirmwareClient, manifest: FlashBundleManifest) {
  const out: { name: string; offset: number; file: string; bytes: Uint8Array }[] = [];
  for (const p of manifest.parts) {
    const d = await fw.get(p.file);
    if (d.sha256 !== p.sha256)
      throw new Error(`${p.file} does not match the signed manifest (sha256 differs); do not flash this build.`);
    out.push({ name: p.name, offset: p.offset, file: p.file, bytes: d.bytes });
  }
  return out;
}

/** The flash bundle as one .tar: manifest.json, manifest.jws and files/…, as the machine built it. */
export function bundleTar(manifestJson: string, jws: string, parts: { file: string; bytes: Uint8Array }[]) {
  const enc = new TextEncoder();
  const entries: TarEntry[] = [
    { path: 'manifest.json', data: enc.encode(manifestJson) },
    { path: 'manifest.jws', data: enc.encode(jws) },
    ...parts.map((p) => ({ path: p.file, data: p.bytes })),
  ];
  return writeTar(entries);
}

/** An ESP Web Tools manifest (https://esphome.github.io/esp-web-tools/) pointing at the bundle's files. */
export function webToolsManifest(m: FlashBundleManifest): EspWebToolsManifest {
  return {
    name: m.project,
    version: m.app_version ?? m.created_at,
    new_install_prompt_erase: true,
    builds: [{ chipFamily: CHIP_FAMILY[m.chip], parts: m.parts.map((p) => ({ path: p.file, offset: p.offset })) }],
  };
}

/** One image for offset 0: parts copied to their offsets, gaps filled with 0xFF (erased flash). */
export function mergedImage(parts: { offset: number; bytes: Uint8Array }[]): Uint8Array {
  const end = Math.max(...parts.map((p) => p.offset + p.bytes.length));
  const out = new Uint8Array(end).fill(0xff);
  for (const p of parts) out.set(p.bytes, p.offset);
  return out;
}
