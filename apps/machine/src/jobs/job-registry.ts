import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { JobParams } from '@aegis/protocol';
import { BuildJob } from './build-job.js';
import { artifactsDirOf, quotaImageOf, uploadTarOf, workspaceOpsOf, type WorkspaceOps } from '../workspace/index.js';

export const DEFAULT_RETENTION_MS = 7 * 24 * 3600_000;
export const DEFAULT_RESULTS_DISK_CAP_BYTES = 20 * 1024 ** 3;

export interface RetentionOptions {
  /** All kept results together stay under this many bytes: the least recently used go first. */
  diskCapBytes?: number;
  /** Bytes a job's results take on disk (default: jobDiskBytes). */
  sizeOf?: (job: BuildJob) => Promise<number>;
}

/**
 * The build jobs this machine holds. A job stays after its client left and after its build ended, until the
 * retention time has passed since it finished or was last used, or the disk cap needs its room (oldest first);
 * then its workspace is deleted — by its owner or by unmounting its filesystem, never by a recursive delete as
 * the machine (see WorkspaceOps). Job directories live in `<workDir>/jobs/<id>/` (workspace/layout.ts).
 */
export class JobRegistry {
  private readonly jobs = new Map<string, BuildJob>();
  private readonly lastUsed = new Map<string, number>();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly workDir: string,
    private readonly retentionMs: number,
    private readonly now: () => number = Date.now,
    private readonly ops: WorkspaceOps = workspaceOpsOf({}),
    private readonly retention: RetentionOptions = {},
  ) {}

  private get jobsDir(): string {
    return join(this.workDir, 'jobs');
  }

  async create(init: { id: string; userId: string; params: JobParams }): Promise<BuildJob> {
    if (this.jobs.has(init.id)) throw new Error(`job ${init.id} exists already`);
    if (!/^[A-Za-z0-9_-]{1,128}$/.test(init.id)) throw new Error(`job id ${init.id} is not a plain name`);
    const workspaceDir = await this.ops.create(join(this.jobsDir, init.id));
    const job = new BuildJob({ ...init, workspaceDir });
    this.jobs.set(init.id, job);
    this.touch(init.id);
    return job;
  }

  get(id: string): BuildJob | undefined {
    return this.jobs.get(id);
  }

  touch(id: string): void {
    this.lastUsed.set(id, this.now());
  }

  all(): BuildJob[] {
    return [...this.jobs.values()];
  }

  /**
   * Jobs that hold a build slot: a build running, or a job claimed for a build whose client has not started it
   * yet. A finished build's open connection, a reattachment or reading results holds none.
   */
  active(): BuildJob[] {
    return this.all().filter((j) => holdsSlot(j));
  }

  /** Forgets jobs past retention (age, then the disk cap, oldest first) and deletes their workspaces. */
  async sweep(): Promise<string[]> {
    const now = this.now();
    const gone: string[] = [];
    const lastUse = (j: BuildJob) => Math.max(j.finishedAt ?? 0, this.lastUsed.get(j.id) ?? 0);
    const idle = () => [...this.jobs.values()].filter((j) => !j.isBuilding && j.attached === 0);
    for (const job of idle()) if (now - lastUse(job) >= this.retentionMs) await this.forget(job, gone);
    const cap = this.retention.diskCapBytes;
    if (cap !== undefined) {
      const sizeOf = this.retention.sizeOf ?? jobDiskBytes;
      const sizes = new Map<BuildJob, number>();
      for (const j of this.jobs.values()) sizes.set(j, await sizeOf(j).catch(() => 0));
      let total = [...sizes.values()].reduce((a, b) => a + b, 0);
      for (const job of idle().sort((a, b) => lastUse(a) - lastUse(b))) {
        if (total <= cap) break;
        total -= sizes.get(job) ?? 0;
        await this.forget(job, gone);
      }
    }
    return gone;
  }

  private async forget(job: BuildJob, gone: string[]): Promise<void> {
    this.jobs.delete(job.id);
    this.lastUsed.delete(job.id);
    gone.push(job.id);
    await this.ops.remove(job.workspaceDir);
  }

  /** At shutdown: every job's results die with this process (nobody can reattach), so their workspaces go now. */
  async removeAll(): Promise<void> {
    for (const job of [...this.jobs.values()]) {
      this.jobs.delete(job.id);
      this.lastUsed.delete(job.id);
      await this.ops.remove(job.workspaceDir).catch(() => undefined);
    }
  }

  /** Job directories from before this start (a restart or crash): nobody can reattach to them, so they go. */
  async sweepStale(): Promise<string[]> {
    const known = new Set(this.jobs.keys());
    const gone = await this.ops.sweepStale(this.jobsDir, (id) => !known.has(id));
    return gone;
  }

  /** Sweeps every `everyMs`; `onGone` hears which jobs' results were deleted (the API is told). */
  startSweeping(everyMs = 30_000, onGone?: (ids: string[]) => void): void {
    this.timer = setInterval(
      () =>
        void this.sweep()
          .then((ids) => onGone?.(ids))
          .catch(() => undefined),
      everyMs,
    );
    this.timer.unref();
  }

  stopSweeping(): void {
    if (this.timer) clearInterval(this.timer);
  }
}

/** A claimed build job holds its slot until its first build ends (or its client leaves without building). */
export function holdsSlot(j: BuildJob): boolean {
  if (j.isBuilding) return true;
  return !j.buildStarted && j.attached > 0 && !['succeeded', 'failed', 'canceled'].includes(j.state);
}

/**
 * Disk a job's results take, from what the machine itself wrote beside the workspace (never reading inside it,
 * see the privilege rule): the workspace's quota image (its allocated blocks), the upload and the artifacts. A
 * workspace without a quota filesystem is not counted: only its owner could measure it.
 */
export async function jobDiskBytes(job: BuildJob): Promise<number> {
  const ws = job.workspaceDir;
  const blocks = async (p: string) => {
    const st = await lstat(p).catch(() => undefined);
    return st ? st.blocks * 512 : 0;
  };
  let n = (await blocks(quotaImageOf(ws))) + (await blocks(uploadTarOf(ws)));
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const p = join(dir, e.name);
      if (e.isDirectory()) await walk(p);
      else n += await blocks(p);
    }
  };
  await walk(artifactsDirOf(ws));
  return n;
}
