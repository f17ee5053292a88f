import { z } from 'zod';
import { IdfVersion, Sha256Hex, Target, Version } from './common.js';

/** A file of the store the machine checks at start (tool binaries, idf.py). Paths are relative to the store root. */
export const StoreTool = z.object({
  name: z.string().min(1).max(64),
  path: z.string().min(1),
  sha256: Sha256Hex,
});

export const StoreIdfVersion = z.object({
  version: IdfVersion,
  /** Directory of this IDF (IDF_PATH), relative to the store root. */
  path: z.string().min(1),
  commit: z.string().max(64).optional(),
  /**
   * The script sourced before idf.py (puts the toolchains and the Python env on PATH), relative to the store root.
   * Default `<path>/export.sh` (a git checkout of ESP-IDF); the offline kit has its own one level up.
   */
  export_script: z.string().min(1).optional(),
  default: z.boolean().default(false),
  targets: z.array(Target).min(1),
  tools: z.array(StoreTool),
});
export type StoreIdfVersion = z.infer<typeof StoreIdfVersion>;

/** `$ESPCTL_STORE_ROOT/manifest.json`. */
export const StoreManifest = z
  .object({ v: Version, versions: z.array(StoreIdfVersion).min(1) })
  .refine((m) => m.versions.filter((x) => x.default).length <= 1, 'at most one IDF version may be the default')
  .refine((m) => new Set(m.versions.map((x) => x.version)).size === m.versions.length, 'IDF versions must be unique');
export type StoreManifest = z.infer<typeof StoreManifest>;
