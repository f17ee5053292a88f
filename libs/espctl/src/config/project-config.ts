import { IdfVersion, type EspctlToml, type Target } from '@aegis/protocol';
import { EspctlError } from '../errors.js';
import { ESPCTL_TOML, parseEspctlToml } from './espctl-toml.js';
import type { ProjectFiles } from './project-files.js';

export const IDF_VERSION_FILE = '.idf-version';

export interface ProjectConfig {
  /** From `project(name)` in the top CMakeLists.txt, else `.espctl.toml`, else undefined. */
  name?: string;
  hasCMakeLists: boolean;
  toml?: EspctlToml;
  /** Contents of `.idf-version`, trimmed. */
  idfVersionFile?: string;
  target?: Target;
  /** Resolved like the machine does (minus the store default): `.idf-version` then `.espctl.toml`. */
  idfVersion?: string;
  idfVersionSource?: 'idf-version-file' | 'espctl-toml';
  profile?: 'debug' | 'release';
}

/** Read and check a project's configuration. Throws an EspctlError naming the bad file/key/line. */
export async function loadProjectConfig(files: ProjectFiles): Promise<ProjectConfig> {
  const tomlText = await files.read(ESPCTL_TOML);
  const toml = tomlText === undefined ? undefined : parseEspctlToml(tomlText);
  const idfRaw = await files.read(IDF_VERSION_FILE);
  let idfVersionFile: string | undefined;
  if (idfRaw !== undefined) {
    idfVersionFile = idfRaw.trim();
    const r = IdfVersion.safeParse(idfVersionFile);
    if (!r.success) {
      throw new EspctlError(
        'config_invalid',
        `${IDF_VERSION_FILE}:1: "${idfVersionFile}" is not an IDF version (expected something like "5.3.1").`,
      );
    }
  }
  const cmake = await files.read('CMakeLists.txt');
  const name = (cmake && projectNameFromCMake(cmake)) ?? toml?.project?.name;
  const idfVersion = idfVersionFile ?? toml?.build?.idf_version;
  return {
    name,
    hasCMakeLists: cmake !== undefined,
    toml,
    idfVersionFile,
    target: toml?.build?.target,
    idfVersion,
    idfVersionSource: idfVersionFile ? 'idf-version-file' : toml?.build?.idf_version ? 'espctl-toml' : undefined,
    profile: toml?.build?.profile,
  };
}

export function projectNameFromCMake(text: string): string | undefined {
  const m = /^\s*project\s*\(\s*([A-Za-z0-9_.-]+)/im.exec(text);
  return m?.[1];
}
