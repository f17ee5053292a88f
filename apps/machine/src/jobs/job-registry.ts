import { join } from 'node:path';
import type { JobParams } from '@aegis/protocol';
import { BuildJob } from './build-job.js';
import { workspaceOpsOf, type WorkspaceOps } from '../workspace/index.js';

/**
 * The build jobs this machine holds. A job stays after its client left and after its build ended, until the
 * retention time has passed since it finished (or since it was last used, if it never built); then its
 * workspace is deleted — by its owner or by unmounting its filesystem, never by a recursive delete as the
 * machine (see WorkspaceOps). Job directories live in `<workDir>/jobs/<id>/` (workspace/layout.ts).
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

  /** Jobs that hold a slot: a build running or a client attached. */
  active(): BuildJob[] {
    return this.all().filter((j) => j.isBuilding || j.attached > 0);
  }

  /** Forgets jobs past retention and deletes their workspaces. */
  async sweep(): Promise<string[]> {
    const now = this.now();
    const gone: string[] = [];
    for (const job of this.jobs.values()) {
      if (job.isBuilding || job.attached > 0) continue;
      const since = Math.max(job.finishedAt ?? 0, this.lastUsed.get(job.id) ?? 0);
      if (now - since < this.retentionMs) continue;
      this.jobs.delete(job.id);
      this.lastUsed.delete(job.id);
      await this.ops.remove(job.workspaceDir);
      gone.push(job.id);
    }
    return gone;
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

  startSweeping(everyMs = 30_000): void {
    this.timer = setInterval(() => void this.sweep().catch(() => undefined), everyMs);
    this.timer.unref();
  }

  stopSweeping(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
