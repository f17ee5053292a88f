import { lstat, readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse as parseToml } from 'smol-toml';
import { describeZodError, EspctlToml, Target, type StoreIdfVersion } from '@aegis/protocol';
import { BackendError } from './errors.js';
import type { Store } from '../store/store.js';
import { defaultVersion } from '../store/store.js';

/** What the uploaded project says about how to build it. */
export interface ProjectSettings {
  name: string;
  idfVersionFile?: string;
  toml?: EspctlToml;
  /** CONFIG_IDF_TARGET of the project's sdkconfig, if it has one. */
  sdkconfigTarget?: string;
}

/** Reads a regular file of the project (never through a symlink: the upload is untrusted). */
async function readProjectFile(projectDir: string, name: string): Promise<string | undefined> {
  const file = path.join(projectDir, name);
  const st = await lstat(file).catch(() => undefined);
  if (!st) return undefined;
  if (!st.isFile()) throw new BackendError('invalid_project', `${name} in the project must be a regular file.`);
  return readFile(file, 'utf8');
}

export async function readProjectSettings(projectDir: string): Promise<ProjectSettings> {
  const st = await lstat(projectDir).catch(() => undefined);
  if (!st?.isDirectory()) {
    throw new BackendError('project_missing', 'The job has no project; upload the project before starting a build.');
  }
  const cmake = await readProjectFile(projectDir, 'CMakeLists.txt');
  if (cmake === undefined) {
    throw new BackendError(
      'invalid_project',
      'The project has no top-level CMakeLists.txt; upload the directory that contains it.',
    );
  }
  const idfVersionFile = (await readProjectFile(projectDir, '.idf-version'))?.trim() || undefined;
  const tomlText = await readProjectFile(projectDir, '.espctl.toml');
  let toml: EspctlToml | undefined;
  if (tomlText !== undefined) {
    let raw: unknown;
    try {
      raw = parseToml(tomlText);
    } catch (e) {
      throw new BackendError('invalid_project_config', `.espctl.toml is not valid TOML: ${(e as Error).message}`);
    }
    const parsed = EspctlToml.safeParse(raw);
    if (!parsed.success) {
      throw new BackendError('invalid_project_config', `.espctl.toml is invalid: ${describeZodError(parsed.error)}.`);
    }
    toml = parsed.data;
  }
  const sdk = await readProjectFile(projectDir, 'sdkconfig');
  const sdkconfigTarget = sdk ? /^CONFIG_IDF_TARGET="([^"]*)"/m.exec(sdk)?.[1] : undefined;
  const name =
    toml?.project?.name ??
    /^\s*project\s*\(\s*"?([A-Za-z0-9_.+-]+)/im.exec(cmake.replace(/#.*$/gm, ''))?.[1] ??
    'project';
  return { name, idfVersionFile, toml, sdkconfigTarget };
}

const norm = (v: string): string => v.replace(/^v/, '');

/** IDF version: the request, then `.idf-version`, then `.espctl.toml`, then the store's default. */
export function resolveIdfVersion(store: Store, requested: string | undefined, s: ProjectSettings): StoreIdfVersion {
  const sources: Array<[string | undefined, string]> = [
    [requested, 'the build request'],
    [s.idfVersionFile, '.idf-version'],
    [s.toml?.build?.idf_version, '.espctl.toml'],
  ];
  for (const [want, from] of sources) {
    if (!want) continue;
    const found = store.manifest.versions.find((v) => norm(v.version) === norm(want));
    if (found) return found;
    const available = store.manifest.versions
      .map((v) => (v.test_toolchain ? `${v.version} (test toolchain)` : v.version))
      .join(', ');
    throw new BackendError(
      'unknown_idf_version',
      `ESP-IDF ${want} (from ${from}) is not installed on this build machine; available: ${available}.`,
      { requested: want, available: store.manifest.versions.map((v) => v.version) },
    );
  }
  return defaultVersion(store);
}

/** Target: the request, then `.espctl.toml`, then the project's sdkconfig, then the IDF's first target. */
export function resolveTarget(v: StoreIdfVersion, requested: string | undefined, s: ProjectSettings): Target {
  const sources: Array<[string | undefined, string]> = [
    [requested, 'the build request'],
    [s.toml?.build?.target, '.espctl.toml'],
    [s.sdkconfigTarget, 'sdkconfig'],
  ];
  for (const [want, from] of sources) {
    if (!want) continue;
    const t = Target.safeParse(want);
    if (t.success && v.targets.includes(t.data)) return t.data;
    const what = v.test_toolchain ? `the test toolchain ${v.version}` : `ESP-IDF ${v.version}`;
    throw new BackendError(
      'unknown_target',
      `Target ${want} (from ${from}) is not supported by ${what} on this build machine; it builds for ${v.targets.join(', ')}.`,
      { requested: want, available: v.targets },
    );
  }
  return v.targets.includes('esp32') ? 'esp32' : v.targets[0];
}
