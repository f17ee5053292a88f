import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { StoreManifest, type Target } from '@aegis/protocol';
import { EspctlError } from '../errors.js';

export interface IdfVersionInfo {
  version: string;
  default: boolean;
  targets: Target[];
}

export interface StoreCatalog {
  source: 'local-store' | 'control-api' | 'none';
  /** Where the list came from: the store root or the API URL. */
  location?: string;
  versions: IdfVersionInfo[];
}

/** Read `$ESPCTL_STORE_ROOT/manifest.json`; a missing root is "no store", a broken manifest is an error. */
export async function readLocalStore(storeRoot: string | undefined): Promise<StoreCatalog> {
  if (!storeRoot) return { source: 'none', versions: [] };
  const file = path.join(storeRoot, 'manifest.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return { source: 'none', location: storeRoot, versions: [] };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new EspctlError('store_invalid', `${file} is not valid JSON; re-create the store.`);
  }
  const r = StoreManifest.safeParse(json);
  if (!r.success) throw new EspctlError('store_invalid', `${file} does not match the store manifest schema.`);
  return {
    source: 'local-store',
    location: storeRoot,
    versions: r.data.versions.map((v) => ({
      version: v.version,
      default: v.default,
      targets: v.targets,
    })),
  };
}

export function defaultVersion(catalog: StoreCatalog): string | undefined {
  return catalog.versions.find((v) => v.default)?.version ?? catalog.versions[0]?.version;
}
