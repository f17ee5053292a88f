import type { BuildDiagnostic } from '@aegis/protocol';

/** Paths of ESP-IDF itself and its toolchains: a diagnostic there is usually caused by the user's code elsewhere. */
const TOOLCHAIN =
  /[\\/](?:esp-idf|idf-tools|\.espressif|tools[\\/](?:riscv32|xtensa)[^\\/]*|lib[\\/]gcc|include[\\/]c\+\+)[\\/]/;

/**
 * Whether a path is the user's project: relative paths (main/…, ../main/…) and paths under projectDir (the
 * sandbox's /ws/project) are; ESP-IDF, toolchain and store paths are not.
 */
export function isProjectFile(file: string, projectDir?: string): boolean {
  if (!file) return false;
  const f = file.replace(/\\/g, '/');
  if (projectDir) {
    const dir = projectDir.replace(/\\/g, '/').replace(/\/+$/, '');
    if (f.startsWith(`${dir}/`)) return true;
  }
  if (TOOLCHAIN.test(`/${f}`)) return false;
  return !/^(?:\/|[A-Za-z]:\/)/.test(f);
}

/**
 * The diagnostic that best says why a build failed: the first error (or fatal) in a project file, else the first in
 * any file, else the first that names no file. Undefined when only build drivers' summaries (`ninja: build
 * stopped`) say it failed: they name no cause.
 */
export function firstBuildError(
  diagnostics: readonly BuildDiagnostic[],
  projectDir?: string,
): BuildDiagnostic | undefined {
  const errors = diagnostics.filter((d) => (d.severity === 'error' || d.severity === 'fatal') && !d.summary);
  return errors.find((d) => isProjectFile(d.file, projectDir)) ?? errors.find((d) => d.file !== '') ?? errors[0];
}
