import { parse as parseToml } from 'smol-toml';
import { describeZodError, EspctlToml, Target, type StoreIdfVersion } from '@aegis/protocol';
import { BackendError } from './errors.js';
import type { Store } from '../store/store.js';
import { defaultVersion } from '../store/store.js';
import type { ProjectFiles, WorkspaceOps } from '../workspace/workspace-ops.js';

/** What the uploaded project says about how to build it. */
export interface ProjectSettings {
  name: string;
  idfVersionFile?: string;
  toml?: EspctlToml;
  /** CONFIG_IDF_TARGET of the project's sdkconfig, if it has one. */
  sdkconfigTarget?: string;
  /** Which of the optional files asked for (e.g. `sdkconfig.defaults.<profile>`) the project has as regular files. */
  present?: Set<string>;
}

const SETTINGS_FILES = ['CMakeLists.txt', '.idf-version', '.espctl.toml', 'sdkconfig'];
/** The largest settings file read (an sdkconfig is ~60 KiB). */
const MAX_SETTINGS_BYTES = 4 * 1024 * 1024;

/** What readProjectSettings reads (for a helper step that reads them along with its own work). */
export const SETTINGS_READ = { names: SETTINGS_FILES, maxBytes: MAX_SETTINGS_BYTES } as const;

/**
 * Reads the project's settings files. The workspace owner reads them in the job's sandbox (WorkspaceOps), never
 * the machine: a file swapped for a symlink then reaches only what the user could read anyway.
 */
export async function readProjectSettings(
  ops: WorkspaceOps,
  workspaceDir: string,
  optional: string[] = [],
): Promise<ProjectSettings> {
  return parseProjectSettings(
    await ops.readProjectFiles(workspaceDir, [...SETTINGS_FILES, ...optional], MAX_SETTINGS_BYTES),
    optional,
  );
}

/** The settings from the files as read (pure, so it can be tested without a workspace). */
export function parseProjectSettings(pf: ProjectFiles, optional: string[] = []): ProjectSettings {
  if (pf.project !== 'dir') {
    throw new BackendError('project_missing', 'The job has no project; upload the project before starting a build.');
  }
  const file = (name: string): string | undefined => {
    const f = pf.files[name];
    if (!f) return undefined;
    if (f.kind === 'other') throw new BackendError('invalid_project', `${name} in the project must be a regular file.`);
    if (f.kind === 'too_big')
      throw new BackendError('invalid_project', `${name} in the project is larger than ${MAX_SETTINGS_BYTES} bytes.`);
    return f.text;
  };
  const cmake = file('CMakeLists.txt');
  if (cmake === undefined) {
    throw new BackendError(
      'invalid_project',
      'The project has no top-level CMakeLists.txt; upload the directory that contains it.',
    );
  }
  const idfVersionFile = file('.idf-version')?.trim() || undefined;
  const tomlText = file('.espctl.toml');
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
  const sdk = file('sdkconfig');
  const sdkconfigTarget = sdk ? /^CONFIG_IDF_TARGET="([^"]*)"/m.exec(sdk)?.[1] : undefined;
  const name =
    toml?.project?.name ??
    /^\s*project\s*\(\s*"?([A-Za-z0-9_.+-]+)/im.exec(cmake.replace(/#.*$/gm, ''))?.[1] ??
    'project';
  const present = new Set(optional.filter((n) => pf.files[n]?.kind === 'file'));
  return { name, idfVersionFile, toml, sdkconfigTarget, present };
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
    const available = store.manifest.versions.map((v) => v.version).join(', ');
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
    const what = `ESP-IDF ${v.version}`;
    throw new BackendError(
      'unknown_target',
      `Target ${want} (from ${from}) is not supported by ${what} on this build machine; it builds for ${v.targets.join(', ')}.`,
      { requested: want, available: v.targets },
    );
  }
  return v.targets.includes('esp32') ? 'esp32' : v.targets[0];
}
