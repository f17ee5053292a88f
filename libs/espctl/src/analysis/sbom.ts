import { CHIPS, componentManifestPaths, makeSpdxSbom, projectComponents, toolchainName } from '@aegis/esp';
import type { SpdxDocument } from '@aegis/protocol';
import type { ProjectConfig } from '../config/project-config.js';
import type { ProjectFiles } from '../config/project-files.js';
import { ESPCTL_VERSION } from '../version.js';

/** The app version ESP-IDF would stamp: `set(PROJECT_VER "x")` in the top CMakeLists.txt, else `version.txt`. */
export function projectVersion(cmake: string | undefined, versionTxt: string | undefined): string | undefined {
  const m = cmake && /^\s*set\s*\(\s*PROJECT_VER\s+"?([^")\s]+)"?\s*\)/im.exec(cmake);
  return m ? m[1] : versionTxt?.trim().split(/\r?\n/)[0] || undefined;
}

/**
 * The SPDX 2.3 SBOM of a project that was not built here (plan-only or local): the same generator as the build
 * machine (libs/esp), with what the project files say. No images are listed, since nothing was built.
 */
export async function createSbom(project: ProjectFiles, config: ProjectConfig, now: Date): Promise<SpdxDocument> {
  const paths = await project.list();
  const texts = new Map<string, string>();
  for (const p of componentManifestPaths(paths)) {
    const t = await project.read(p);
    if (t !== undefined) texts.set(p, t);
  }
  const version = projectVersion(await project.read('CMakeLists.txt'), await project.read('version.txt'));
  return makeSpdxSbom({
    project: { name: config.name ?? 'project', version },
    idf: config.idfVersion ? { version: config.idfVersion } : undefined,
    target: config.target,
    components: projectComponents(paths, (p) => texts.get(p)),
    toolchain: config.target ? [{ name: toolchainName(CHIPS[config.target].architecture) }] : [],
    files: [],
    creator: `espctl-${ESPCTL_VERSION}`,
    created: now,
  });
}
