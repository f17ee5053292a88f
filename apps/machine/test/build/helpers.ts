import { createHash, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { realIdfStore, testCompilerCacheDir } from '@aegis/testkit';
import { createBuildBackend, type BuildBackendWithStore } from '../../src/build/index.js';
import type { BuildOutcome, BuildRequest } from '../../src/build/backend.js';
import { FlashBundleManifest, type LogLine } from '@aegis/protocol';

/** The real ESP-IDF v5.1.6 store (provisioned once from the offline kit; throws with what to do without it). */
export const IDF_VERSION = '5.1.6';

let store: string | undefined;
export function idfStore(): string {
  store ??= realIdfStore();
  return store;
}

/** ESP-IDF's own get-started/hello_world, as a user would upload it (path → content). */
export function helloProject(extra: Record<string, string> = {}): Record<string, string> {
  const dir = path.join(idfStore(), 'idf', IDF_VERSION, 'esp-idf', 'examples', 'get-started', 'hello_world');
  const files: Record<string, string> = {};
  for (const rel of ['CMakeLists.txt', 'main/CMakeLists.txt', 'main/hello_world_main.c'])
    files[rel] = readFileSync(path.join(dir, rel), 'utf8');
  return { ...files, ...extra };
}

export interface Harness {
  root: string;
  storeRoot: string;
  cacheDir: string;
  publicKey: KeyObject;
  kid: string;
  backend: BuildBackendWithStore;
  cleanup(): Promise<void>;
}

/** The real ESP-IDF store, a cache and a backend (bwrap unless asked otherwise) in a fresh temporary directory. */
export async function harness(opts: { sandbox?: 'bwrap' | 'none'; cacheMaxBytes?: number } = {}): Promise<Harness> {
  const storeRoot = idfStore();
  const root = await mkdtemp(path.join(os.tmpdir(), 'aegis-build-'));
  await chmod(root, 0o755);
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const kid = 'machine-test-key';
  const cacheDir = path.join(root, 'cache');
  const backend = await createBuildBackend({
    storeRoot,
    sandbox: opts.sandbox ?? 'bwrap',
    cacheDir,
    cacheMaxBytes: opts.cacheMaxBytes,
    signingKey: { kid, privateKey },
    machineId: 'test-machine',
    compilerCache: { scope: 'machine', dir: testCompilerCacheDir() },
  });
  return {
    root,
    storeRoot,
    cacheDir,
    publicKey,
    kid,
    backend,
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

let wsCounter = 0;

/**
 * A job workspace with `project/` holding `files` (path → content), as the agent unpacks an upload. `mtimes`
 * gives some files the modification time their upload carried (e.g. an edited file with an OLD mtime).
 */
export async function workspace(
  h: Pick<Harness, 'root'>,
  files: Record<string, string>,
  mtimes: Record<string, Date> = {},
): Promise<string> {
  // `<job>/ws`: the machine keeps the job's artifacts beside the workspace, in `<job>/artifacts`.
  const ws = path.join(h.root, `job-${++wsCounter}`, 'ws');
  for (const [rel, content] of Object.entries(files)) {
    const f = path.join(ws, 'project', rel);
    await mkdir(path.dirname(f), { recursive: true });
    await writeFile(f, content);
    if (mtimes[rel]) await utimes(f, mtimes[rel], mtimes[rel]);
  }
  return ws;
}

export interface Collected {
  lines: Array<{ stream: LogLine['stream']; text: string }>;
  text(): string;
}

export function request(
  ws: string,
  over: Partial<BuildRequest> = {},
): { req: BuildRequest; log: Collected; abort: AbortController } {
  const abort = new AbortController();
  const lines: Collected['lines'] = [];
  const req: BuildRequest = {
    jobId: path.basename(path.dirname(ws)),
    userId: 'user-1',
    workspaceDir: ws,
    // A clean ESP-IDF build takes 40-80 s on 2 cores, much longer while other suites build too.
    timeoutSecs: 1200,
    cpuCores: 2,
    memoryMb: 2048,
    signal: abort.signal,
    onLine: (stream, text) => void lines.push({ stream, text }),
    ...over,
  };
  return { req, abort, log: { lines, text: () => lines.map((l) => l.text).join('\n') } };
}

/** Builds and reports the time it took (the suites print these, so slow machines are visible). */
export async function timedBuild(
  backend: Pick<BuildBackendWithStore, 'build'>,
  req: BuildRequest,
  what: string,
): Promise<BuildOutcome> {
  const t0 = Date.now();
  const out = await backend.build(req);
  console.log(`[build time] ${what}: ${((Date.now() - t0) / 1000).toFixed(1)} s (${out.state})`);
  return out;
}

/** The ninja steps of a log that compiled or linked something: `Building C object …`, `Linking …`. */
export function ninjaWork(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => /^\[\d+\/\d+\] (Building (C|CXX|ASM) object|Linking )/.test(l))
    .map((l) => l.replace(/^\[\d+\/\d+\] /, ''));
}

export const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** The signed bundle manifest of a successful build and the bytes of its part `name` (app, bootloader…). */
export async function bundlePart(
  out: BuildOutcome,
  name: string,
): Promise<{ manifest: FlashBundleManifest; bytes: Buffer; offset: number }> {
  const dir = out.artifactsDir as string;
  const manifest = FlashBundleManifest.parse(
    JSON.parse(await readFile(path.join(dir, 'bundle/manifest.json'), 'utf8')),
  );
  const part = manifest.parts.find((p) => p.name === name);
  if (!part) throw new Error(`the bundle has no part ${name}: ${manifest.parts.map((p) => p.name).join(', ')}`);
  return { manifest, bytes: await readFile(path.join(dir, 'bundle', part.file)), offset: part.offset };
}

/**
 * Processes still running (zombies are dead already) under the dedicated sandbox uids (61000–61063) whose command
 * line contains `marker` (other test files build in parallel, so a test only counts its own processes).
 */
export function sandboxProcesses(marker: string): number {
  let n = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]);
      if (uid < 61000 || uid >= 61064 || /^State:\s+Z/m.test(status)) continue;
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker)) n++;
    } catch {
      // exited meanwhile
    }
  }
  return n;
}

/**
 * A tiny store for tests that need a manifest and no compiler (store verification, a broken export script):
 * `manifest.json`, an export script and an `idf.py` stub that says it is one. Never used to build firmware.
 */
export async function fakeStore(
  dir: string,
  o: { exportScript?: string; idfPy?: string } = {},
): Promise<{ root: string; exportScript: string; idfPy: string }> {
  const idfDir = path.join(dir, 'idf', IDF_VERSION, 'esp-idf');
  await mkdir(path.join(idfDir, 'tools'), { recursive: true });
  const exportScript = path.join(dir, 'idf', IDF_VERSION, 'export.sh');
  const idfPy = path.join(idfDir, 'tools', 'idf.py');
  await writeFile(exportScript, o.exportScript ?? `export PATH="${path.dirname(idfPy)}:$PATH"\n`);
  await writeFile(idfPy, o.idfPy ?? '#!/bin/sh\necho "fake idf.py: $*"\nexit 1\n', { mode: 0o755 });
  const tool = async (name: string, file: string) => ({
    name,
    path: path.relative(dir, file),
    sha256: sha256(await readFile(file)),
  });
  const manifest = {
    v: 1,
    versions: [
      {
        version: IDF_VERSION,
        path: path.relative(dir, idfDir),
        export_script: path.relative(dir, exportScript),
        default: true,
        targets: ['esp32c3', 'esp32'],
        tools: [await tool('tools/idf.py', idfPy), await tool('export.sh', exportScript)],
      },
    ],
  };
  await writeFile(path.join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
  return { root: dir, exportScript, idfPy };
}
