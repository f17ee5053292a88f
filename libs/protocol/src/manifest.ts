import { z } from 'zod';
import { IdfVersion, Sha256Hex, Target, Version } from './common.js';

export const FlashMode = z.enum(['qio', 'qout', 'dio', 'dout', 'keep']);
export const FlashFreq = z.enum(['80m', '60m', '48m', '40m', '30m', '26m', '24m', '20m', '16m', '15m', '12m', 'keep']);
export const FlashSize = z.enum(['1MB', '2MB', '4MB', '8MB', '16MB', '32MB', '64MB', '128MB', 'detect', 'keep']);
export type FlashMode = z.infer<typeof FlashMode>;
export type FlashFreq = z.infer<typeof FlashFreq>;
export type FlashSize = z.infer<typeof FlashSize>;

/** Relative path inside the bundle: no absolute paths, no `..`, no backslashes. */
export const BundlePath = z
  .string()
  .min(1)
  .max(255)
  .refine(
    (p) => !p.startsWith('/') && !p.includes('\\') && !p.split('/').includes('..'),
    'path must stay inside the bundle',
  );

export const FlashPart = z.object({
  /** bootloader, partition-table, app, otadata, or a data partition name. */
  name: z.string().min(1).max(64),
  offset: z.number().int().nonnegative(),
  size: z.number().int().positive(),
  sha256: Sha256Hex,
  file: BundlePath,
});
export type FlashPart = z.infer<typeof FlashPart>;

/**
 * `manifest.json` of a flash bundle. Offsets come from `build/flasher_args.json`. The bundle also holds
 * `manifest.jws`: a compact EdDSA JWS (with the machine's `kid`) whose payload is the exact bytes of manifest.json.
 */
export const FlashBundleManifest = z.object({
  v: Version,
  project: z.string().min(1).max(128),
  app_version: z.string().max(64).optional(),
  chip: Target,
  idf_version: IdfVersion,
  flash: z.object({ mode: FlashMode, freq: FlashFreq, size: FlashSize }),
  parts: z.array(FlashPart).min(1).max(32),
  job_id: z.string().optional(),
  machine_id: z.string().optional(),
  created_at: z.iso.datetime(),
});
export type FlashBundleManifest = z.infer<typeof FlashBundleManifest>;

/** ESP Web Tools manifest (https://esphome.github.io/esp-web-tools/). */
export const EspWebToolsChipFamily = z.enum([
  'ESP32',
  'ESP32-S2',
  'ESP32-S3',
  'ESP32-C2',
  'ESP32-C3',
  'ESP32-C5',
  'ESP32-C6',
  'ESP32-H2',
  'ESP32-P4',
]);
export const EspWebToolsManifest = z.object({
  name: z.string(),
  version: z.string(),
  new_install_prompt_erase: z.boolean().optional(),
  builds: z
    .array(
      z.object({
        chipFamily: EspWebToolsChipFamily,
        parts: z.array(z.object({ path: z.string(), offset: z.number().int().nonnegative() })).min(1),
      }),
    )
    .min(1),
});
export type EspWebToolsManifest = z.infer<typeof EspWebToolsManifest>;
