import { createHash } from 'node:crypto';
import { chmod, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  buildBundleManifest,
  encodeManifest,
  mergeParts,
  parseFlasherArgs,
  jsonObjectInOutput,
  parseSizeReport,
  signBundleManifest,
  toEspWebToolsManifest,
} from '@aegis/esp';
import type { Artifact, StoreIdfVersion, Target } from '@aegis/protocol';
import { BackendError } from './errors.js';
import { isRealDirInside, readInside } from './safe-read.js';
import { makeSbom, type ProjectView } from './sbom.js';
import type { SigningKey } from './signing-key.js';

/** How the bundle gets at the build's outputs: files of `project/build/` and the project's view for the SBOM. */
export interface BuildOutputs {
  /** Regular files of the build directory by relative path; absent or unreadable ones are left out. */
  read(names: string[]): Promise<Map<string, Uint8Array>>;
  project(): Promise<ProjectView | undefined>;
}

export interface BundleInput {
  /**
   * The build's outputs as the workspace owner reads them (WorkspaceOps in the job's sandbox). The machine never
   * reads a job workspace itself.
   */
  outputs?: BuildOutputs;
  /** A project directory the machine made itself (unit tests only; never a job workspace). */
  projectDir?: string;
  artifactsDir: string;
  target: Target;
  idfVersion: string;
  jobId: string;
  machineId?: string;
  signingKey: SigningKey;
  /**
   * The size report (esp_idf_size's JSON; log lines before it are tolerated). A promise lets it be made while
   * the bundle is: it is awaited only when size.json is written.
   */
  sizeJson?: string | Promise<string | undefined>;
  /** The project's name as the machine read it: its usual output names are read with the first request. */
  projectName?: string;
  /** The store's entry for the IDF that built it (for the SBOM). */
  version?: StoreIdfVersion;
  now: Date;
}

export interface BundleResult {
  artifacts: Artifact[];
  sizes: Record<string, number>;
  projectName: string;
  elfName: string;
  toolPrefix?: string;
}

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/**
 * After a successful build: the flash bundle (`bundle/manifest.json`, `bundle/manifest.jws`, `bundle/files/…`),
 * the size report, the ELF (for `decode`) and the linker map, all listed as artifacts with their sha256.
 * Offsets come from `build/flasher_args.json`; nothing is read through a symlink that leaves the build directory.
 */
export async function makeArtifacts(input: BundleInput): Promise<BundleResult> {
  const outputs = input.outputs ?? localOutputs(input.projectDir ?? '');
  // Each read is one run of the workspace helper; the SBOM's view of the project is read beside the outputs.
  const projectView = input.version ? outputs.project() : undefined;
  projectView?.catch(() => undefined); // handled: a failure surfaces where the SBOM awaits it
  try {
    return await make(input, outputs, projectView);
  } finally {
    await projectView?.catch(() => undefined); // no helper run outlives the bundle
  }
}

async function make(
  input: BundleInput,
  outputs: BuildOutputs,
  projectView: Promise<ProjectView | undefined> | undefined,
): Promise<BundleResult> {
  // ESP-IDF's usual output names come with the first read, so most builds need no second one.
  const guess = input.projectName
    ? [
        'bootloader/bootloader.bin',
        'partition_table/partition-table.bin',
        'ota_data_initial.bin',
        ...['bin', 'elf', 'map'].map((ext) => `${input.projectName}.${ext}`),
      ]
    : [];
  const files = await outputs.read(['flasher_args.json', 'project_description.json', ...guess]);
  const read = (rel: string): Uint8Array | undefined => files.get(rel);
  const text = (rel: string): string | undefined => {
    const b = read(rel);
    return b ? new TextDecoder().decode(b) : undefined;
  };
  const flasherArgsText = text('flasher_args.json');
  if (!flasherArgsText) {
    throw new BackendError(
      'bundle_failed',
      'The build wrote no build/flasher_args.json, so there is nothing to flash.',
    );
  }
  const descText = text('project_description.json');
  let flasherArgs: unknown;
  let desc: Record<string, unknown> = {};
  try {
    flasherArgs = JSON.parse(flasherArgsText);
    if (descText) desc = JSON.parse(descText) as Record<string, unknown>;
  } catch (e) {
    throw new BackendError(
      'bundle_failed',
      `The build's flasher_args.json or project_description.json is not JSON: ${(e as Error).message}`,
    );
  }
  // Everything else the bundle needs, in one more read: the flash parts, the ELF and the linker map.
  const wanted = new Set<string>();
  try {
    for (const e of parseFlasherArgs(flasherArgs).entries) wanted.add(e.path);
  } catch {
    // buildBundleManifest below names what is wrong with flasher_args.json
  }
  const elfRel = typeof desc.app_elf === 'string' ? desc.app_elf : undefined;
  if (elfRel) wanted.add(elfRel).add(elfRel.replace(/\.elf$/, '.map'));
  const projectGuess = typeof desc.project_name === 'string' ? desc.project_name : undefined;
  if (!elfRel && projectGuess) wanted.add(`${projectGuess}.elf`).add(`${projectGuess}.map`);
  const missing = async (names: string[]): Promise<void> => {
    const left = names.filter((n) => !files.has(n));
    if (left.length) for (const [k, v] of await outputs.read(left)) files.set(k, v);
  };
  await missing([...wanted]);
  let built;
  try {
    built = buildBundleManifest({
      flasherArgs,
      projectDescription: desc,
      files: read,
      chip: input.target,
      idfVersion: input.idfVersion,
      jobId: input.jobId,
      machineId: input.machineId,
      createdAt: input.now,
    });
  } catch (e) {
    throw new BackendError('bundle_failed', `Could not make the flash bundle: ${(e as Error).message}`);
  }
  const manifestBytes = encodeManifest(built.manifest);
  const jws = await signBundleManifest(manifestBytes, input.signingKey.privateKey, input.signingKey.kid);

  // The artifacts directory is the machine's own (beside the workspace); emptied, not replaced, because a
  // running terminal of the job sees it bound at /artifacts.
  await mkdir(input.artifactsDir, { recursive: true, mode: 0o755 });
  await chmod(input.artifactsDir, 0o755);
  for (const e of await readdir(input.artifactsDir))
    await rm(path.join(input.artifactsDir, e), { recursive: true, force: true });
  const artifacts: Artifact[] = [];
  const put = async (name: string, bytes: Uint8Array, kind: Artifact['kind']): Promise<void> => {
    const file = path.join(input.artifactsDir, name);
    await mkdir(path.dirname(file), { recursive: true, mode: 0o755 });
    await writeFile(file, bytes, { mode: 0o644 });
    artifacts.push({ name, size: bytes.length, sha256: sha256(bytes), kind });
  };
  await put('bundle/manifest.json', manifestBytes, 'bundle-manifest');
  await put('bundle/manifest.jws', new TextEncoder().encode(jws), 'bundle-signature');
  for (const f of built.files) await put(`bundle/${f.path}`, f.bytes, 'image');
  // ESP Web Tools reads part paths relative to its manifest, so it sits next to manifest.json.
  const web = toEspWebToolsManifest(built.manifest);
  await put('bundle/web-manifest.json', new TextEncoder().encode(JSON.stringify(web, null, 2) + '\n'), 'web-manifest');
  const merged = mergeParts(
    built.manifest.parts.map((p, i) => ({ offset: p.offset, data: built.files[i].bytes, name: p.name })),
  );
  await put('merged.bin', merged, 'merged');

  const projectName = built.manifest.project;
  const elfName = elfRel ?? `${projectName}.elf`;
  await missing([elfName, elfName.replace(/\.elf$/, '.map')]);
  const elf = read(elfName);
  if (elf) await put(path.basename(elfName), elf, 'elf');
  const map = read(elfName.replace(/\.elf$/, '.map'));
  if (map) await put(path.basename(elfName).replace(/\.elf$/, '.map'), map, 'map');
  // idf.py prints `Executing action: size` and the ninja log before the JSON; size.json keeps the JSON alone.
  const sizeText = await input.sizeJson;
  const sizeJson = sizeText ? jsonObjectInOutput(sizeText) : undefined;
  if (sizeJson) {
    try {
      parseSizeReport(sizeJson);
      await put('size.json', new TextEncoder().encode(sizeJson + '\n'), 'report');
    } catch {
      // a size report we cannot read is left out rather than passed on
    }
  }
  const sizes: Record<string, number> = {};
  for (const p of built.manifest.parts) sizes[p.name] = p.size;
  if (input.version) {
    const sbom = makeSbom({
      jobId: input.jobId,
      project: await projectView,
      projectDir: input.outputs ? undefined : input.projectDir,
      manifest: built.manifest,
      build: { projectDescription: descText, map: map ? new TextDecoder().decode(map) : undefined },
      version: input.version,
      artifacts: [...artifacts],
      now: input.now,
    });
    await put('sbom.json', new TextEncoder().encode(JSON.stringify(sbom, null, 2) + '\n'), 'report');
  }
  const toolPrefix = typeof desc.monitor_toolprefix === 'string' ? desc.monitor_toolprefix : undefined;
  return { artifacts, sizes, projectName, elfName: path.basename(elfName), toolPrefix };
}

/** Outputs of a project directory the machine made itself (unit tests): never through a link leaving build/. */
function localOutputs(projectDir: string): BuildOutputs {
  const buildDir = path.join(projectDir, 'build');
  return {
    async read(names) {
      if (!isRealDirInside(buildDir, projectDir)) {
        throw new BackendError(
          'bundle_failed',
          'build/ in the project is not a plain directory, so no bundle was made.',
        );
      }
      const out = new Map<string, Uint8Array>();
      for (const n of names) {
        const b = readInside(buildDir, n);
        if (b) out.set(n, b);
      }
      return out;
    },
    project: async () => undefined,
  };
}
