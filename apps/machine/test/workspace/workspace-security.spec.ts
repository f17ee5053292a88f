import { spawn, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, lchown, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testCompilerCacheDir } from '@aegis/testkit';
import { createBuildBackend, type BuildBackendWithStore, type BuildOutcome } from '../../src/build/index.js';
import { readProjectSettings } from '../../src/build/project-settings.js';
import { safeUntar } from '../../src/channels/safe-untar.js';
import { JobRegistry } from '../../src/jobs/job-registry.js';
import { isMountPoint, quotaImageOf, uploadTarOf } from '../../src/workspace/index.js';
import { makeTar, type TarEntry } from '../tar-writer.js';
import { makeFakeStore } from './fake-store.js';

/**
 * Issue 12, points 1, 2, 4 and the stale sweep: a user with a terminal in their job's sandbox races the machine
 * with symlinks to host files; the machine must never read, write or delete anything outside the workspace.
 * Real bubblewrap sandbox, a stub idf.py (fake-store.ts). The machine runs as root here.
 */
const isRoot = process.getuid?.() === 0;
const QUOTA_MB = 64;

let root: string;
let backend: BuildBackendWithStore;
let canaryFile: string;
let canaryDir: string;
const SECRET = `CANARY-${randomBytes(8).toString('hex')}`;
const warnings: string[] = [];

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'aegis-wssec-'));
  await chmod(root, 0o755);
  const storeRoot = await makeFakeStore(path.join(root, 'store'));
  // A host file and a host directory the user must never reach through the machine.
  canaryFile = path.join(root, 'canary', 'secret.txt');
  canaryDir = path.join(root, 'canary-dir');
  await mkdir(path.dirname(canaryFile), { recursive: true });
  await writeFile(canaryFile, `${SECRET}\nCONFIG_IDF_TARGET="${SECRET}"\nproject = "${SECRET}\n`, { mode: 0o600 });
  await mkdir(path.join(canaryDir, 'd'), { recursive: true });
  for (const f of ['a.txt', 'd/b.txt']) await writeFile(path.join(canaryDir, f), SECRET);
  const { privateKey } = generateKeyPairSync('ed25519');
  backend = await createBuildBackend({
    storeRoot,
    sandbox: 'bwrap',
    workDir: path.join(root, 'state'),
    signingKey: { kid: 'k', privateKey },
    workspaceQuotaMb: QUOTA_MB,
    compilerCache: { scope: 'user', dir: testCompilerCacheDir() },
    log: { info: () => undefined, warn: (m) => void warnings.push(m) },
  });
});

afterAll(async () => {
  if (!root) return;
  for (const id of await readdir(path.join(root, 'jobs')).catch(() => [] as string[]))
    await backend.workspaces.remove(path.join(root, 'jobs', id, 'ws')).catch(() => undefined);
  await rm(root, { recursive: true, force: true });
});

const project = (extra: TarEntry[] = []): Buffer =>
  makeTar([
    { name: 'CMakeLists.txt', data: 'cmake_minimum_required(VERSION 3.16)\nproject(app)\n' },
    { name: 'main/', type: '5' },
    { name: 'main/app.c', data: 'void app_main(void) {}\n' },
    { name: 'sub/', type: '5' },
    { name: 'sub/d/', type: '5' },
    { name: 'sub/d/f.txt', data: 'x' },
    ...extra,
  ]);

let jobCounter = 0;
async function newJob(tar = project()): Promise<string> {
  const ws = await backend.workspaces.create(path.join(root, 'jobs', `job-${++jobCounter}`));
  await writeFile(uploadTarOf(ws), tar);
  await safeUntar(uploadTarOf(ws), ws, undefined, backend.workspaces);
  return ws;
}

async function build(ws: string, lines: string[]): Promise<BuildOutcome> {
  return backend.build({
    jobId: path.basename(path.dirname(ws)),
    userId: 'attacker',
    workspaceDir: ws,
    target: 'esp32c3',
    timeoutSecs: 60,
    cpuCores: 1,
    memoryMb: 1024,
    signal: new AbortController().signal,
    onLine: (_s, t) => void lines.push(t),
  });
}

/** The job's terminal (a shell in its sandbox, as its uid) running `script` in the background. */
async function attacker(ws: string, script: string): Promise<{ stop(): Promise<void>; proc: ChildProcess }> {
  const cmd = await backend.terminal(ws, 'shell');
  const proc = spawn(cmd.file, cmd.args, {
    env: cmd.env,
    cwd: cmd.cwd,
    stdio: ['pipe', 'ignore', 'ignore'],
    detached: true,
  });
  proc.stdin!.write(`${script}\n`);
  // Let the loop get going before the machine works.
  await new Promise((r) => setTimeout(r, 500));
  return {
    proc,
    async stop() {
      try {
        process.kill(-proc.pid!, 'SIGKILL');
      } catch {
        // gone
      }
      await new Promise((r) => (proc.exitCode !== null || proc.signalCode ? r(null) : proc.once('exit', r)));
      cmd.dispose?.();
      await new Promise((r) => setTimeout(r, 300));
    },
  };
}

const everything = (o: BuildOutcome, lines: string[]): string =>
  JSON.stringify(o.error ?? '') + '\n' + lines.join('\n');

async function artifactsText(o: BuildOutcome): Promise<string> {
  let s = '';
  for (const a of o.artifacts) s += (await readFile(path.join(o.artifactsDir!, a.name))).toString('latin1');
  return s;
}

describe.runIf(isRoot)('the machine acts in a job workspace only as its owner, inside the sandbox', () => {
  it('point 1: settings files swapped for symlinks to host files during reads and builds leak nothing', async () => {
    const ws = await newJob();
    // Swap .idf-version, .espctl.toml and sdkconfig between a regular file and a symlink to host secrets, as fast
    // as the shell can (rename is atomic, so every read sees one or the other).
    const targets = [canaryFile, '/etc/shadow', '/proc/1/environ'];
    const loop = [
      'cd /ws/project',
      'while :; do',
      ...targets.flatMap((t) => [
        `  ln -sf ${t} .l1; mv -f .l1 .idf-version; ln -sf ${t} .l2; mv -f .l2 sdkconfig; ln -sf ${t} .l3; mv -f .l3 .espctl.toml`,
        "  printf '5.1.6\\n' > .f1; mv -f .f1 .idf-version; printf 'CONFIG_IDF_TARGET=\"esp32c3\"\\n' > .f2; mv -f .f2 sdkconfig; rm -f .espctl.toml",
      ]),
      'done &',
    ].join('\n');
    const a = await attacker(ws, loop);
    const seen: string[] = [];
    let regularReads = 0;
    let refused = 0;
    try {
      for (let i = 0; i < 40; i++) {
        try {
          const s = await readProjectSettings(backend.workspaces, ws);
          regularReads++;
          seen.push(JSON.stringify(s.idfVersionFile ?? '') + (s.sdkconfigTarget ?? ''));
        } catch (e) {
          refused++;
          seen.push((e as Error).message);
        }
      }
      for (let i = 0; i < 4; i++) {
        const lines: string[] = [];
        const out = await build(ws, lines);
        seen.push(everything(out, lines), await artifactsText(out));
      }
    } finally {
      await a.stop();
    }
    const all = seen.join('\n');
    expect(all).not.toContain(SECRET);
    expect(all).not.toMatch(/root:[^:\n]*:\d+:/); // a line of /etc/shadow
    // The race really ran: both kinds of file were seen, and a symlinked one is refused as not regular.
    expect(refused).toBeGreaterThan(0);
    expect(all).toMatch(/must be a regular file/);
    expect(regularReads + refused).toBe(40);

    // The machine keeps serving: with the terminal gone, the same job builds.
    const lines: string[] = [];
    await writeFile(uploadTarOf(ws), project());
    await safeUntar(uploadTarOf(ws), ws, undefined, backend.workspaces);
    const out = await build(ws, lines);
    expect(out.state, everything(out, lines)).toBe('succeeded');
  }, 180_000);

  it('point 2: a project directory swapped for a symlink to a host directory during re-uploads deletes nothing outside', async () => {
    const ws = await newJob();
    const before = await snapshot(canaryDir);
    // `sub/` of the project flips between a real directory tree and a symlink to the host canary directory while
    // the machine replaces the project again and again.
    const loop = [
      'while :; do',
      '  p=/ws/project; [ -d $p ] || { sleep 0.01; continue; }',
      `  rm -rf $p/sub 2>/dev/null; ln -s ${canaryDir} $p/sub 2>/dev/null`,
      `  for o in /ws/.project-*; do [ -d "$o" ] && { rm -rf "$o/sub" 2>/dev/null; ln -s ${canaryDir} "$o/sub" 2>/dev/null; }; done`,
      '  mkdir -p $p/sub2/d 2>/dev/null; rm -rf $p/sub2; mkdir $p/sub2 2>/dev/null',
      'done &',
    ].join('\n');
    const a = await attacker(ws, loop);
    let unpacked = 0;
    try {
      for (let i = 0; i < 25; i++) {
        await writeFile(uploadTarOf(ws), project([{ name: `gen-${i}.txt`, data: String(i) }]));
        try {
          await safeUntar(uploadTarOf(ws), ws, undefined, backend.workspaces);
          unpacked++;
        } catch (e) {
          // a swap can make one unpack fail for the user; never anything outside
          expect((e as Error).message).not.toContain(SECRET);
        }
      }
    } finally {
      await a.stop();
    }
    expect(unpacked).toBeGreaterThan(0);
    expect(await snapshot(canaryDir)).toEqual(before);
    expect(readFileSync(path.join(canaryDir, 'd', 'b.txt'), 'utf8')).toBe(SECRET);

    // Deleting the whole job (registry sweep) with a planted link still leaves the host directory alone.
    await symlink(canaryDir, path.join(ws, 'project', 'planted')).catch(() => undefined);
    const left = await backend.workspaces.remove(ws);
    expect(left).toEqual([]);
    expect(existsSync(path.dirname(ws))).toBe(false);
    expect(await snapshot(canaryDir)).toEqual(before);
  }, 180_000);

  it('point 4: a build that writes more than the workspace quota fails with a clear error, and the disk is not filled', async () => {
    expect(backend.workspaces.quotaKindOf(await newJob())).not.toBe('none');
    const ws = await newJob(project([{ name: 'fill-mib', data: String(QUOTA_MB * 2) }]));
    const lines: string[] = [];
    const out = await build(ws, lines);
    expect(out.state).toBe('failed');
    expect(out.error?.code).toBe('workspace_full');
    expect(out.error?.message).toContain(`workspace is full (${QUOTA_MB} MiB)`);
    // Only the quota's worth of space was taken on the host (a sparse image, at most its size).
    const img = await stat(quotaImageOf(ws));
    expect(img.blocks * 512).toBeLessThanOrEqual(QUOTA_MB * 1024 * 1024 + 1024 * 1024);
    // The job can still be cleaned and used: a build without the filler succeeds after a re-upload.
    await writeFile(uploadTarOf(ws), project());
    await safeUntar(uploadTarOf(ws), ws, undefined, backend.workspaces);
    const again: string[] = [];
    const ok = await build(ws, again);
    expect(ok.state, everything(ok, again)).toBe('succeeded');
    await backend.workspaces.remove(ws);
    expect(await isMountPoint(ws)).toBe(false);
    expect(existsSync(quotaImageOf(ws))).toBe(false);
  }, 120_000);

  it('stale workspaces from before a restart are unmounted and deleted as their owners at start', async () => {
    const workDir = path.join(root, 'restart');
    const jobsDir = path.join(workDir, 'jobs');
    // A mounted quota workspace with content, as a machine that died left it …
    const mountedWs = await backend.workspaces.create(path.join(jobsDir, 'old-mounted'));
    await writeFile(uploadTarOf(mountedWs), project());
    await safeUntar(uploadTarOf(mountedWs), mountedWs, undefined, backend.workspaces);
    const build1: string[] = [];
    expect((await build(mountedWs, build1)).state).toBe('succeeded');
    await symlink(canaryDir, path.join(mountedWs, 'project', 'evil')).catch(() => undefined);
    // … and a plain one (no quota) owned by a sandbox uid no one holds now, with a link to a host directory.
    const plainWs = path.join(jobsDir, 'old-plain', 'ws');
    await mkdir(path.join(plainWs, 'project', 'main'), { recursive: true });
    await writeFile(path.join(plainWs, 'project', 'main', 'x.c'), 'int x;\n');
    await symlink(canaryDir, path.join(plainWs, 'project', 'evil'));
    const staleUid = 61500;
    for (const p of ['', 'project', 'project/main', 'project/main/x.c', 'project/evil'])
      await lchown(path.join(plainWs, p), staleUid, staleUid);
    const before = await snapshot(canaryDir);

    // The machine starts again: its registry sweeps what it does not know.
    const registry = new JobRegistry(workDir, 60_000, Date.now, backend.workspaces);
    const gone = await registry.sweepStale();
    expect(gone.sort()).toEqual(['old-mounted', 'old-plain']);
    expect(await readdir(jobsDir)).toEqual([]);
    expect(await isMountPoint(mountedWs)).toBe(false);
    expect(await snapshot(canaryDir)).toEqual(before);
  }, 120_000);
});

/** Paths and contents under a directory (to prove nothing there changed). */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else out[path.relative(dir, p)] = await readFile(p, 'utf8');
    }
  };
  await walk(dir);
  return out;
}
