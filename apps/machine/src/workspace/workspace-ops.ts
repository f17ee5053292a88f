import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { chmod, chown, lchown, lstat, mkdir, open, readdir, readFile, rmdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { promisify } from 'node:util';
import { createGunzip } from 'node:zlib';
import { BackendError } from '../build/errors.js';
import type { SandboxLimits, SandboxSpec } from '../sandbox/types.js';
import type { BinaryIo, BinaryResult } from '../sandbox/spawn-binary.js';
import type { WorkspaceSandbox } from '../sandbox/workspace-sandbox.js';
import { jobDirOf, quotaImageOf, workspaceOf } from './layout.js';

const run = promisify(execFile);

/** A small project file as the workspace owner read it: its text, or why not (null = absent). */
export type ProjectFile = { kind: 'file'; text: string } | { kind: 'other' } | { kind: 'too_big' } | null;

export interface ProjectFiles {
  project: 'dir' | 'missing' | 'other';
  files: Record<string, ProjectFile>;
}

export interface UnpackLimits {
  maxFiles: number;
  maxUnpackedBytes: number;
}

export interface WorkspaceLog {
  info(msg: string): void;
  warn(msg: string): void;
}

export interface WorkspaceOpsOptions {
  sandbox: WorkspaceSandbox;
  /** Size of each job's workspace filesystem in MiB; 0 = no quota. */
  quotaMb: number;
  log?: WorkspaceLog;
}

/** How a workspace's size is bounded. */
export type QuotaKind = 'ext4' | 'tmpfs' | 'none';

const HELPER_LIMITS: SandboxLimits = {
  memoryMb: 1536,
  totalMemoryMb: 1024,
  cpuCores: 1,
  cpuSecs: 600,
  maxProcs: 512,
  fileSizeMb: 4096,
  timeoutSecs: 600,
};

/** Mount points of this mount namespace (octal escapes of /proc/self/mountinfo decoded). */
async function mountPoints(): Promise<Set<string>> {
  const text = await readFile('/proc/self/mountinfo', 'utf8').catch(() => '');
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    const field = line.split(' ')[4];
    if (field) out.add(field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
  }
  return out;
}

export async function isMountPoint(dir: string): Promise<boolean> {
  return (await mountPoints()).has(path.resolve(dir));
}

/**
 * Deletes what the machine itself made in a job directory: it never descends into a directory it does not own
 * (a user's), so nothing there is followed; such a directory is only removed when already empty.
 * Returns the paths it had to leave.
 */
async function removeOwnTree(p: string, me: number, left: string[]): Promise<void> {
  const st = await lstat(p).catch(() => undefined);
  if (!st) return;
  if (!st.isDirectory()) {
    await unlink(p).catch(() => left.push(p));
    return;
  }
  if (st.uid === me && (st.mode & 0o022) === 0) {
    for (const e of await readdir(p)) await removeOwnTree(path.join(p, e), me, left);
  }
  await rmdir(p).catch(() => left.push(p));
}

/**
 * Every file operation the machine makes in a job workspace, done as the workspace's owner (the job's uid)
 * inside the job's sandbox by the helper program (helper-program.ts): unpacking uploads, reading project settings
 * and build outputs, packing and restoring the incremental build state, deleting. The machine itself only touches
 * its own files beside the workspace (layout.ts) and the workspace's mount point. See the README's Security section.
 */
export class WorkspaceOps {
  private readonly quota = new Map<string, QuotaKind>();
  private readonly log: WorkspaceLog;
  private warnedNoQuota = false;

  constructor(private readonly o: WorkspaceOpsOptions) {
    this.log = o.log ?? { info: () => undefined, warn: () => undefined };
  }

  get sandboxKind(): 'bwrap' | 'none' {
    return this.o.sandbox.kind;
  }

  /** MiB of the workspace's filesystem, when it has a quota. */
  quotaMbOf(workspaceDir: string): number | undefined {
    const q = this.quota.get(path.resolve(workspaceDir));
    return q && q !== 'none' ? this.o.quotaMb : undefined;
  }

  quotaKindOf(workspaceDir: string): QuotaKind | undefined {
    return this.quota.get(path.resolve(workspaceDir));
  }

  /** The error for a full workspace (ENOSPC inside it). */
  fullError(workspaceDir: string): BackendError {
    const mb = this.quotaMbOf(workspaceDir);
    return new BackendError(
      'workspace_full',
      mb
        ? `The job's workspace is full (${mb} MiB); the build wrote more than this machine allows per job. ` +
            'Leave large files out of the project or clean the build directory.'
        : "The job's workspace is full: the disk of this build machine has no space left.",
      mb ? { quota_mb: mb } : undefined,
    );
  }

  /**
   * Makes `<jobDir>/ws` for a new job: owned by the job's uid from the start, on its own size-limited filesystem
   * where the machine may mount one (a loop-mounted ext4 image, else tmpfs). Returns the workspace path.
   */
  async create(jobDir: string): Promise<string> {
    await mkdir(jobDir, { recursive: true, mode: 0o711 });
    await chmod(jobDir, 0o711);
    const ws = workspaceOf(jobDir);
    await mkdir(ws, { mode: 0o700 });
    const uid = await this.o.sandbox.claim(ws);
    try {
      const kind = this.o.sandbox.privileged && this.o.quotaMb > 0 ? await this.mountQuota(ws, uid) : 'none';
      if (kind === 'none' && this.o.sandbox.privileged) await chown(ws, uid, uid); // still empty: nobody else has it
      if (kind === 'none' && !this.warnedNoQuota) {
        this.warnedNoQuota = true;
        this.log.warn(
          this.o.quotaMb > 0
            ? 'Job workspaces have NO disk quota: the machine cannot mount a size-limited filesystem here ' +
                '(it needs root, loop devices and mkfs.ext4, or tmpfs); a build can fill this disk.'
            : 'Job workspaces have NO disk quota (--workspace-quota-mb=0); a build can fill this disk.',
        );
      }
      this.quota.set(ws, kind);
      await this.helper(ws, 'init', {});
      return ws;
    } catch (e) {
      await this.remove(ws).catch(() => undefined);
      throw e;
    }
  }

  private async mountQuota(ws: string, uid: number): Promise<QuotaKind> {
    const image = quotaImageOf(ws);
    try {
      const fh = await open(image, 'wx', 0o600);
      try {
        await fh.truncate(this.o.quotaMb * 1024 * 1024);
      } finally {
        await fh.close();
      }
      await run('mkfs.ext4', [
        '-q',
        '-F',
        '-m',
        '0',
        '-O',
        '^has_journal',
        '-E',
        `root_owner=${uid}:${uid},lazy_itable_init=1`,
        image,
      ]);
      await run('mount', ['-o', 'loop,nosuid,nodev,noatime', image, ws]);
      // A fresh filesystem nobody has seen yet: its lost+found would be the only root-owned thing in the workspace.
      await rmdir(path.join(ws, 'lost+found')).catch(() => undefined);
      return 'ext4';
    } catch (e) {
      await unlink(image).catch(() => undefined);
      this.log.warn(
        `No ext4 quota filesystem for job workspaces (${(e as Error).message.split('\n')[0]}); trying tmpfs.`,
      );
    }
    try {
      await run('mount', [
        '-t',
        'tmpfs',
        '-o',
        `size=${this.o.quotaMb}m,mode=0700,uid=${uid},gid=${uid},nosuid,nodev`,
        'aegis-ws',
        ws,
      ]);
      return 'tmpfs';
    } catch (e) {
      this.log.warn(`No tmpfs quota for job workspaces either (${(e as Error).message.split('\n')[0]}).`);
      return 'none';
    }
  }

  /**
   * Makes sure the workspace has its owner on this machine. A workspace made by `create` has one; one that the
   * caller made itself (tests, tools) is taken over only while nothing in it belongs to anyone but the machine
   * and nothing is writable by others — then no user can have planted anything in it yet.
   */
  async open(workspaceDir: string): Promise<void> {
    const ws = path.resolve(workspaceDir);
    if (this.quota.has(ws)) return;
    const st = await lstat(ws).catch(() => undefined);
    if (!st?.isDirectory())
      throw new BackendError(
        'project_missing',
        'The job has no workspace; upload the project before starting a build.',
      );
    if (!this.o.sandbox.privileged) {
      await this.o.sandbox.claim(ws);
      this.quota.set(ws, 'none');
      await this.helper(ws, 'init', {});
      return;
    }
    const me = process.getuid?.() ?? 0;
    const entries: string[] = [];
    const walk = async (p: string): Promise<void> => {
      const s = await lstat(p);
      if (s.uid !== me || (s.mode & 0o022) !== 0) {
        throw new BackendError(
          'workspace_foreign',
          `The workspace ${ws} holds ${p}, which this machine did not make; it only builds in workspaces it owns.`,
        );
      }
      entries.push(p);
      if (s.isDirectory()) for (const e of await readdir(p)) await walk(path.join(p, e));
    };
    await walk(ws);
    const uid = await this.o.sandbox.claim(ws);
    for (const p of entries) await lchown(p, uid, uid);
    this.quota.set(ws, 'none');
    await this.helper(ws, 'init', {});
  }

  /** Removes a job's workspace (as its owner, or by unmounting its filesystem) and the machine's files beside it. */
  async remove(workspaceDir: string): Promise<string[]> {
    const ws = path.resolve(workspaceDir);
    const jobDir = jobDirOf(ws);
    const mounted = await isMountPoint(ws);
    if (!mounted) await this.clearAsOwner(ws);
    await this.o.sandbox.unclaim(ws);
    this.quota.delete(ws);
    if (mounted) {
      await run('umount', [ws]).catch(() => run('umount', ['-l', ws]));
    }
    const left: string[] = [];
    await removeOwnTree(jobDir, process.getuid?.() ?? 0, left);
    if (left.length) this.log.warn(`Could not remove all of ${jobDir}: ${left.slice(0, 3).join(', ')} remain.`);
    return left;
  }

  /** Deletes the contents of a directory bound as a workspace, as the owner of what is in it. */
  private async clearAsOwner(dir: string): Promise<void> {
    const names = await readdir(dir).catch(() => [] as string[]);
    if (names.length === 0) return;
    let owner: number | undefined;
    const me = process.getuid?.() ?? 0;
    for (const n of names) {
      const s = await lstat(path.join(dir, n)).catch(() => undefined);
      if (s && s.uid !== me) owner = s.uid;
    }
    const st = await lstat(dir);
    owner ??= st.uid;
    const claimed = this.o.sandbox.ownerOf(dir) !== undefined;
    if (!claimed) await this.o.sandbox.claim(dir, owner);
    try {
      await this.helper(dir, 'clear', {});
    } catch (e) {
      this.log.warn(`Could not clear ${dir} as its owner: ${(e as Error).message}`);
    } finally {
      if (!claimed) await this.o.sandbox.unclaim(dir);
    }
  }

  /**
   * Workspaces left in `<jobsDir>` by an earlier run of the machine (a restart, a crash): unmounted and
   * deleted as their owners. Returns the job ids removed.
   */
  async sweepStale(jobsDir: string, isStale: (id: string) => boolean = () => true): Promise<string[]> {
    const gone: string[] = [];
    for (const id of await readdir(jobsDir).catch(() => [] as string[])) {
      if (!isStale(id)) continue;
      const jobDir = path.join(jobsDir, id);
      const st = await lstat(jobDir).catch(() => undefined);
      if (!st?.isDirectory()) continue;
      const ws = workspaceOf(jobDir);
      // Before the job directory layout, the job directory itself was the workspace.
      const target = (await lstat(ws).catch(() => undefined))?.isDirectory() ? ws : jobDir;
      try {
        if (target === ws) await this.remove(ws);
        else {
          await this.clearAsOwner(jobDir);
          const left: string[] = [];
          await removeOwnTree(jobDir, process.getuid?.() ?? 0, left);
        }
        gone.push(id);
      } catch (e) {
        this.log.warn(`Could not remove the stale workspace ${jobDir}: ${(e as Error).message}`);
      }
    }
    if (gone.length) this.log.info(`Removed ${gone.length} job workspace(s) left from before this start.`);
    return gone;
  }

  // ---- operations as the workspace owner ------------------------------------------------------------------

  /** Runs one helper operation as the workspace owner in the job's sandbox. */
  private async helper(
    workspaceDir: string,
    op: string,
    arg: Record<string, unknown>,
    io: BinaryIo = {},
  ): Promise<BinaryResult> {
    const sb = this.o.sandbox;
    const inside = sb.workspacePath(workspaceDir);
    const node = sb.kind === 'none' ? process.execPath : '/usr/bin/node';
    const spec: SandboxSpec = {
      command: [node, sb.helperPath, op, inside, JSON.stringify(arg)],
      cwd: inside,
      env: { PATH: '/usr/bin:/bin', HOME: path.posix.join(inside, '.home'), LANG: 'C.UTF-8' },
      workspaceDir,
      readOnlyDirs: [],
      limits: HELPER_LIMITS,
    };
    const r = await sb.exec(spec, io);
    if (r.exitCode === 28) throw this.fullError(workspaceDir);
    if (r.exitCode === 0 || r.exitCode === 2 || r.exitCode === 3) return r;
    const why = r.timedOut
      ? 'it took too long'
      : r.overflow
        ? 'it returned too much'
        : r.stderr || `exit ${r.exitCode}`;
    throw new BackendError('workspace_helper_failed', `The workspace ${op} step failed: ${why.slice(0, 300)}`);
  }

  private static json<T>(r: BinaryResult): T {
    return JSON.parse(r.stdout.toString('utf8')) as T;
  }

  /**
   * Replaces the project with the contents of an upload tar (the machine's own file, outside the workspace,
   * already checked by the caller): the helper unpacks it into a fresh directory and swaps it in.
   */
  async unpack(workspaceDir: string, tarPath: string, limits: UnpackLimits): Promise<{ files: number; bytes: number }> {
    await this.open(workspaceDir);
    const head = Buffer.alloc(2);
    const fh = await open(tarPath, 'r');
    try {
      await fh.read(head, 0, 2, 0);
    } finally {
      await fh.close();
    }
    const raw = createReadStream(tarPath);
    const stdin: Readable = head[0] === 0x1f && head[1] === 0x8b ? raw.pipe(createGunzip()) : raw;
    const r = await this.helper(
      workspaceDir,
      'unpack',
      { maxFiles: limits.maxFiles, maxBytes: limits.maxUnpackedBytes },
      { stdin },
    );
    raw.destroy();
    if (r.exitCode === 2) throw new UnpackRefused(`The project archive was refused: it contains ${r.stderr}.`);
    return WorkspaceOps.json(r);
  }

  /** Small regular files of the project (never through a symlink), each at most `maxBytes`. */
  async readProjectFiles(workspaceDir: string, names: string[], maxBytes = 1024 * 1024): Promise<ProjectFiles> {
    await this.open(workspaceDir);
    const r = await this.helper(workspaceDir, 'files', { names, maxBytes });
    if (r.exitCode !== 0) throw new BackendError('invalid_project', r.stderr);
    return WorkspaceOps.json(r);
  }

  /** Listings of project directories and small text files (for the SBOM's components). */
  async projectView(
    workspaceDir: string,
    q: { list: string[]; read: string[] },
  ): Promise<{ lists: Record<string, string[] | null>; texts: Record<string, string | null> }> {
    const r = await this.helper(workspaceDir, 'view', q);
    if (r.exitCode !== 0) throw new BackendError('invalid_project', r.stderr);
    return WorkspaceOps.json(r);
  }

  /** Files of `project/<base>/` (regular files only, each at most `maxBytes`); absent ones are left out. */
  async readOutputs(
    workspaceDir: string,
    base: string,
    names: string[],
    maxBytes = 256 * 1024 * 1024,
  ): Promise<Map<string, Uint8Array>> {
    const r = await this.helper(
      workspaceDir,
      'read',
      { base, names, maxBytes },
      { maxStdoutBytes: 1024 * 1024 * 1024 },
    );
    if (r.exitCode !== 0) throw new BackendError('bundle_failed', r.stderr);
    const out = new Map<string, Uint8Array>();
    const b = r.stdout;
    let off = 0;
    for (let i = 0; i < names.length && off + 4 <= b.length; i++) {
      const len = b.readUInt32BE(off);
      const meta = JSON.parse(b.subarray(off + 4, off + 4 + len).toString('utf8')) as { size: number | null };
      off += 4 + len;
      if (meta.size === null) continue;
      if (off + meta.size > b.length) break;
      out.set(names[i], new Uint8Array(b.subarray(off, off + meta.size)));
      off += meta.size;
    }
    return out;
  }

  /**
   * The incremental build state (build/, sdkconfig, source stamps) as one opaque archive written to `dest`.
   * False when the project has no plain build directory.
   */
  async packState(workspaceDir: string, dest: Writable): Promise<boolean> {
    const r = await this.helper(workspaceDir, 'pack', {}, { stdout: dest });
    return r.exitCode === 0;
  }

  /** Puts a packed build state back into a project without its own build/; true when it did. */
  async restoreState(workspaceDir: string, src: Readable, nowMs: number): Promise<boolean> {
    return (await this.restoreStateAndRead(workspaceDir, src, nowMs, [])).restored;
  }

  /**
   * restoreState, then (when it restored) the project files `names` as readProjectFiles reads them, in the same
   * helper run: the restored sdkconfig can say which target the cached build was for.
   */
  async restoreStateAndRead(
    workspaceDir: string,
    src: Readable,
    nowMs: number,
    names: string[],
    maxBytes = 1024 * 1024,
  ): Promise<{ restored: boolean; files?: ProjectFiles }> {
    const r = await this.helper(workspaceDir, 'restore', { nowMs, read: names, maxBytes }, { stdin: src });
    if (r.exitCode !== 0) return { restored: false };
    return WorkspaceOps.json<{ restored: boolean; files?: ProjectFiles }>(r);
  }
}

export class UnpackRefused extends Error {
  readonly code = 'unsafe_archive';
}
