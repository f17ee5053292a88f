import { readdirSync } from 'node:fs';
import path from 'node:path';
import {
  CHIPS,
  componentManifestPaths,
  linkedArchives,
  linkedComponents,
  lockedIdfVersion,
  makeSpdxSbom,
  parseProjectDescription,
  projectComponents,
  toolchainName,
  type ProjectComponent,
} from '@aegis/esp';
import type { Artifact, FlashBundleManifest, SpdxDocument, StoreIdfVersion, Target } from '@aegis/protocol';
import { AGENT_VERSION } from '../agent.js';
import { isRealDirInside, readInside } from './safe-read.js';

/** What the SBOM needs of the project: directory listings and small text files (undefined = absent). */
export interface ProjectView {
  list(rel: string): string[] | undefined;
  text(rel: string): string | undefined;
}

/** What the build wrote, as text: build/project_description.json and the app's linker map. */
export interface BuildOutputs {
  projectDescription?: string;
  map?: string;
}

export interface SbomInput {
  jobId: string;
  /**
   * The uploaded project's listings and manifests, read by its owner (build/project-view.ts). The machine never
   * reads a workspace itself.
   */
  project?: ProjectView;
  /** A project directory the machine made itself (unit tests); never a job workspace. */
  projectDir?: string;
  /** The build's own outputs: the ESP-IDF components it linked are listed from them. */
  build?: BuildOutputs;
  /** The bundle manifest: names the firmware, its app version (esp_app_desc) and target. */
  manifest?: FlashBundleManifest;
  /** The store's ESP-IDF entry that built it (commit, tools by sha256), when known. */
  version?: StoreIdfVersion;
  /** Only the ESP-IDF version, when the store entry is not at hand. */
  idfVersion?: string;
  /** The target, when there is no manifest. */
  target?: string;
  artifacts: readonly Artifact[];
  now?: Date;
}

/** What the SBOM lists as built images: the flash parts, the merged image and the ELF. */
const IMAGE_KINDS: ReadonlySet<Artifact['kind']> = new Set(['image', 'merged', 'elf']);

/**
 * The paths of the project that tell its components apart: one entry inside `main/` and each `components/<name>/`
 * (real directories only, never through a link), and the component manifests and lock.
 */
function projectPaths(view: ProjectView): string[] {
  const out: string[] = [];
  const firstEntry = (rel: string): string | undefined => {
    const e = view.list(rel)?.[0];
    return e ? `${rel}/${e}` : undefined;
  };
  const main = firstEntry('main');
  if (main) out.push(main);
  const components = view.list('components');
  if (components) {
    for (const c of [...components].sort()) {
      const e = firstEntry(`components/${c}`);
      if (e) out.push(e);
    }
  }
  const candidates = [
    'dependencies.lock',
    'idf_component.yml',
    'main/idf_component.yml',
    ...out
      .filter((p) => p.startsWith('components/'))
      .map((p) => `${p.split('/').slice(0, 2).join('/')}/idf_component.yml`),
  ];
  return [...out, ...componentManifestPaths(candidates)];
}

/** A view of a directory the machine made itself (never a job workspace: see the privilege rule). */
function localProjectView(projectDir: string): ProjectView {
  return {
    list: (rel) => {
      const dir = path.join(projectDir, rel);
      return isRealDirInside(dir, projectDir) ? readdirSync(dir) : undefined;
    },
    text: (rel) => {
      const b = readInside(projectDir, rel, 1024 * 1024);
      return b ? new TextDecoder().decode(b) : undefined;
    },
  };
}

/**
 * The ESP-IDF components the build linked into the app: the component list ESP-IDF wrote to
 * build/project_description.json, narrowed by the linker map to those whose library the image took something from
 * (without a map: every component that builds a library). Versions are the ESP-IDF release's.
 */
function linkedIdfComponents(build: BuildOutputs, idfVersion: string | undefined): ProjectComponent[] {
  if (!build.projectDescription) return [];
  let desc;
  try {
    desc = parseProjectDescription(build.projectDescription);
  } catch {
    return []; // an unreadable description leaves the SBOM with what the sources tell
  }
  const idf = desc.components.filter((c) => c.source === 'idf');
  const linked = build.map ? linkedComponents(idf, linkedArchives(build.map)) : idf.filter((c) => c.library);
  const release = idfVersion?.replace(/^v/, '');
  return linked.map((c) => ({
    name: c.name,
    source: 'idf' as const,
    ...(release
      ? {
          version: release,
          downloadLocation: `git+https://github.com/espressif/esp-idf.git@v${release}#components/${c.name}`,
        }
      : {}),
  }));
}

/**
 * SPDX 2.3 SBOM of a build (the one generator in libs/esp), from what the machine knows for certain: the firmware
 * and its app version, the ESP-IDF release (or the test toolchain) with its commit, the store tools that built it
 * (by sha256), the project's components with their versions, the ESP-IDF components linked into the image, and
 * the built images by sha256.
 */
export function makeSbom(o: SbomInput): SpdxDocument {
  const view =
    o.project ?? (o.projectDir ? localProjectView(o.projectDir) : { list: () => undefined, text: () => undefined });
  const text = (rel: string): string | undefined => view.text(rel);
  const paths = projectPaths(view);
  const lock = text('dependencies.lock');
  const target = o.manifest?.chip ?? o.target;
  const chip = target && target in CHIPS ? CHIPS[target as Target] : undefined;
  const idfVersion = o.version?.version ?? o.idfVersion ?? (lock ? lockedIdfVersion(lock) : undefined);
  const tools = o.version?.tools.length
    ? o.version.tools.map((t) => ({ name: t.name, sha256: t.sha256 }))
    : chip
      ? [{ name: toolchainName(chip.architecture) }]
      : [];
  return makeSpdxSbom({
    project: { name: o.manifest?.project ?? `job-${o.jobId}`, version: o.manifest?.app_version },
    idf: idfVersion ? { version: idfVersion, commit: o.version?.commit } : undefined,
    target,
    components: [
      ...projectComponents(paths, text),
      // The test toolchain is not ESP-IDF: its build has no ESP-IDF components to name.
      ...(o.build ? linkedIdfComponents(o.build, idfVersion) : []),
    ],
    toolchain: tools,
    files: o.artifacts.filter((a) => IMAGE_KINDS.has(a.kind)).map((a) => ({ name: a.name, sha256: a.sha256 })),
    creator: `aegis-machine-${AGENT_VERSION}`,
    created: o.now ?? new Date(),
    uniqueId: globalThis.crypto.randomUUID(),
  });
}
