import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import {
  describeZodError,
  StoreManifest,
  type BuildCapability,
  type StoreIdfVersion,
  type Target,
} from '@aegis/protocol';
import { BackendError } from '../build/errors.js';
import { sha256File } from './sha256-file.js';

export interface Store {
  root: string;
  manifest: StoreManifest;
}

const HOW_TO =
  'install ESP-IDF there with `scripts/provision-store.sh --store <dir> --kit <offline kit>` (or a release online: ' +
  '`scripts/provision-store.sh --store <dir> 5.3.1`) and point ESPCTL_STORE_ROOT at it';

/** Resolves a manifest path under the store root; refuses paths that leave it. */
export function storePath(root: string, rel: string): string {
  const abs = path.resolve(root, rel);
  if (abs !== root && !abs.startsWith(root.endsWith(path.sep) ? root : root + path.sep)) {
    throw new BackendError('store_corrupt', `The store manifest names ${rel}, which is outside the store ${root}.`);
  }
  return abs;
}

/**
 * Reads `<root>/manifest.json` and checks every listed tool exists and matches its sha256. Throws a
 * BackendError that names the store, the file and what to do.
 */
export async function loadStore(storeRoot: string): Promise<Store> {
  const root = path.resolve(storeRoot);
  const st = await stat(root).catch(() => undefined);
  if (!st?.isDirectory()) throw new BackendError('store_missing', `cannot find store at ${root}; ${HOW_TO}.`);
  const manifestFile = path.join(root, 'manifest.json');
  const text = await readFile(manifestFile, 'utf8').catch(() => undefined);
  if (text === undefined) {
    throw new BackendError('store_missing', `cannot find store at ${root} (no manifest.json); ${HOW_TO}.`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new BackendError('store_corrupt', `${manifestFile} is not valid JSON (${(e as Error).message}); ${HOW_TO}.`);
  }
  const parsed = StoreManifest.safeParse(json);
  if (!parsed.success) {
    throw new BackendError('store_corrupt', `${manifestFile} is invalid: ${describeZodError(parsed.error)}.`);
  }
  const manifest = parsed.data;
  for (const v of manifest.versions) await verifyVersion(root, v);
  return { root, manifest };
}

async function verifyVersion(root: string, v: StoreIdfVersion): Promise<void> {
  const idfPath = storePath(root, v.path);
  if (!(await stat(idfPath).catch(() => undefined))?.isDirectory()) {
    throw new BackendError(
      'store_corrupt',
      `IDF ${v.version} is listed in the store but its directory ${idfPath} is missing; re-provision it.`,
    );
  }
  for (const tool of v.tools) {
    const file = storePath(root, tool.path);
    const actual = await sha256File(file).catch(() => undefined);
    if (actual === undefined) {
      throw new BackendError(
        'store_corrupt',
        `Tool ${tool.name} of IDF ${v.version} is missing at ${file}; re-provision IDF ${v.version}.`,
        { file, tool: tool.name },
      );
    }
    if (actual !== tool.sha256) {
      throw new BackendError(
        'store_corrupt',
        `Checksum mismatch for ${file} (tool ${tool.name} of IDF ${v.version}): expected ${tool.sha256.slice(0, 12)}…, ` +
          `found ${actual.slice(0, 12)}…; the store was modified, re-provision IDF ${v.version}.`,
        { file, tool: tool.name, expected: tool.sha256, actual },
      );
    }
  }
}

export function defaultVersion(store: Store): StoreIdfVersion {
  return store.manifest.versions.find((v) => v.default) ?? store.manifest.versions[0];
}

export interface Inventory {
  idfVersions: string[];
  targets: Target[];
  /** Every (IDF version, target) pair the store builds. */
  builds: BuildCapability[];
}

export function inventory(store: Store): Inventory {
  const targets = new Set<Target>();
  const builds: BuildCapability[] = [];
  for (const v of store.manifest.versions)
    for (const t of v.targets) {
      targets.add(t);
      builds.push({ idf_version: v.version, target: t });
    }
  return { idfVersions: store.manifest.versions.map((v) => v.version), targets: [...targets], builds };
}
