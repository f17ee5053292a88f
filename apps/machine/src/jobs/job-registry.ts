import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { JobParams } from '@aegis/protocol';
import { BuildJob } from './build-job.js';

/**
 * The build jobs this machine holds. A job stays after its client left and after its build ended, until the
 * retention time has passed since it finished (or since it was last used, if it never built); then its
 * workspace is deleted.
 */
export class JobRegistry {
  private readonly jobs = new Map<string, BuildJob>();
  private readonly lastUsed = new Map<string, number>();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly workDir: string,
    private readonly retentionMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  async create(init: { id: string; userId: string; params: JobParams }): Promise<BuildJob> {
    if (this.jobs.has(init.id)) throw new Error(`job ${init.id} exists already`);
    const workspaceDir = join(this.workDir, 'jobs', init.id);
    await mkdir(workspaceDir, { recursive: true, mode: 0o700 });
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
      await rm(job.workspaceDir, { recursive: true, force: true });
      gone.push(job.id);
    }
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
