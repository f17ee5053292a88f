import { Target } from '@aegis/protocol';
import { EspFormatError } from './errors.js';

/** Where a built component comes from, told by its directory. */
export type BuiltComponentSource = 'idf' | 'project' | 'managed' | 'external';

/** One component of the build, from project_description.json. */
export interface BuiltComponent {
  name: string;
  /** Absolute directory as the build saw it. */
  dir: string;
  source: BuiltComponentSource;
  /** `LIBRARY`, `CONFIG_ONLY` or `INTERFACE` (ESP-IDF ≥ 4.x `build_component_info`); unknown in older files. */
  type?: string;
  /** The static library it builds, relative to the build directory (`esp-idf/main/libmain.a`), when it has one. */
  library?: string;
}

/** What the build recorded in build/project_description.json (ESP-IDF 4.0 to 5.x). */
export interface ProjectDescription {
  projectName: string;
  projectVersion?: string;
  /** Absent before ESP-IDF 4.1. */
  target?: Target;
  /** `git_revision`: "v5.1.6", or "v4.4-dev-2313-gc69f0ec32" for a development tree. */
  idfVersion?: string;
  projectPath?: string;
  idfPath?: string;
  buildDir?: string;
  /** The app ELF and binary, relative to the build directory. */
  appElf?: string;
  appBin?: string;
  /** `riscv32-esp-elf-`, `xtensa-esp32-elf-`: the prefix of the toolchain's binutils (addr2line). */
  toolPrefix?: string;
  components: BuiltComponent[];
}

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (o: Json, key: string): string | undefined => {
  const v = o[key];
  return typeof v === 'string' && v !== '' ? v : undefined;
};

function under(dir: string, root: string | undefined): boolean {
  if (!root) return false;
  const r = root.replace(/\/+$/, '');
  return dir === r || dir.startsWith(`${r}/`);
}

function classify(dir: string, idfPath?: string, projectPath?: string): BuiltComponentSource {
  if (projectPath && under(dir, `${projectPath.replace(/\/+$/, '')}/managed_components`)) return 'managed';
  if (under(dir, projectPath)) return 'project';
  if (under(dir, idfPath)) return 'idf';
  return 'external';
}

function relativeTo(file: string, base: string | undefined): string {
  if (base && under(file, base)) return file.slice(base.replace(/\/+$/, '').length + 1);
  return file;
}

/**
 * Read build/project_description.json (object or JSON text). Components come from `build_component_info` (name,
 * directory, type, library) when the file has it, else from `build_components` + `build_component_paths` (4.0).
 */
export function parseProjectDescription(input: unknown): ProjectDescription {
  let obj = input;
  if (typeof input === 'string') {
    try {
      obj = JSON.parse(input);
    } catch {
      throw new EspFormatError('bad_project_description', 'project_description.json is not valid JSON.');
    }
  }
  if (!isObject(obj))
    throw new EspFormatError('bad_project_description', 'project_description.json must be a JSON object.');
  const projectName = str(obj, 'project_name');
  if (!projectName)
    throw new EspFormatError(
      'bad_project_description',
      'project_description.json has no project_name; it is not what ESP-IDF writes to build/.',
    );
  const target = Target.safeParse(obj.target);
  // ESP-IDF 4.x does not write idf_path; its freertos component always sits in <IDF_PATH>/components.
  const paths = Array.isArray(obj.build_component_paths) ? obj.build_component_paths : [];
  const freertos = paths.find((p): p is string => typeof p === 'string' && /\/components\/freertos$/.test(p));
  const idfPath = str(obj, 'idf_path') ?? freertos?.replace(/\/components\/freertos$/, '');
  const projectPath = str(obj, 'project_path');
  const buildDir = str(obj, 'build_dir');

  const components: BuiltComponent[] = [];
  const info = obj.build_component_info;
  if (isObject(info)) {
    for (const [name, c] of Object.entries(info)) {
      if (!isObject(c)) continue;
      const dir = str(c, 'dir') ?? '';
      const file = str(c, 'file');
      components.push({
        name,
        dir,
        source: classify(dir, idfPath, projectPath),
        ...(str(c, 'type') ? { type: str(c, 'type') } : {}),
        ...(file ? { library: relativeTo(file, buildDir) } : {}),
      });
    }
  } else if (Array.isArray(obj.build_components)) {
    obj.build_components.forEach((name, i) => {
      if (typeof name !== 'string' || name === '') return;
      const dir = typeof paths[i] === 'string' ? paths[i] : '';
      components.push({ name, dir, source: classify(dir, idfPath, projectPath) });
    });
  }

  return {
    projectName,
    ...(str(obj, 'project_version') ? { projectVersion: str(obj, 'project_version') } : {}),
    ...(target.success ? { target: target.data } : {}),
    ...(str(obj, 'git_revision') ? { idfVersion: str(obj, 'git_revision') } : {}),
    ...(projectPath ? { projectPath } : {}),
    ...(idfPath ? { idfPath } : {}),
    ...(buildDir ? { buildDir } : {}),
    ...(str(obj, 'app_elf') ? { appElf: str(obj, 'app_elf') } : {}),
    ...(str(obj, 'app_bin') ? { appBin: str(obj, 'app_bin') } : {}),
    ...(str(obj, 'monitor_toolprefix') ? { toolPrefix: str(obj, 'monitor_toolprefix') } : {}),
    components,
  };
}

/**
 * The components whose library went into the image, given the archives the linker map names (linkedArchives).
 * A component's library directory counts too (mbedtls links esp-idf/mbedtls/mbedtls/library/libmbedcrypto.a).
 */
export function linkedComponents(components: readonly BuiltComponent[], archives: readonly string[]): BuiltComponent[] {
  return components.filter((c) => {
    if (!c.library) return false;
    const dir = c.library.includes('/') ? c.library.slice(0, c.library.lastIndexOf('/') + 1) : undefined;
    return archives.some((a) => a === c.library || (dir !== undefined && a.startsWith(dir)));
  });
}
