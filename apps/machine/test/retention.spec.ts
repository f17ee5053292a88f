import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { BuildJob } from '../src/jobs/build-job.js';
import { holdsSlot, JobRegistry } from '../src/jobs/job-registry.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const DAY = 24 * 3600_000;
const params = { cpu_cores: 1, memory_mb: 256, timeout_secs: 60 };

/** A registry on a clock the test moves, with each job's size set by the test. */
function registry(o: { retentionMs?: number; diskCapBytes?: number } = {}) {
  const workDir = mkdtempSync(join(tmpdir(), 'aegis-retention-'));
  dirs.push(workDir);
  let now = Date.parse('2026-12-06T10:00:00Z');
  const sizes = new Map<string, number>();
  const reg = new JobRegistry(workDir, o.retentionMs ?? 7 * DAY, () => now, undefined, {
    diskCapBytes: o.diskCapBytes,
    sizeOf: async (j: BuildJob) => sizes.get(j.id) ?? 0,
  });
  /** A job whose build ended at the current time, `bytes` large. */
  const finished = async (bytes: number): Promise<BuildJob> => {
    const job = await reg.create({ id: randomUUID(), userId: randomUUID(), params });
    sizes.set(job.id, bytes);
    job.buildStarted = true;
    job.setState('succeeded', { exitCode: 0 });
    job.finishedAt = now;
    return job;
  };
  return { reg, finished, advance: (ms: number) => (now += ms) };
}

describe('results retention', () => {
  it('keeps results for the retention time after their last use, then deletes them', async () => {
    const { reg, finished, advance } = registry({ retentionMs: 7 * DAY });
    const old = await finished(1);
    advance(3 * DAY);
    const recent = await finished(1);
    advance(3 * DAY);
    reg.touch(old.id); // read again: its clock restarts
    advance(2 * DAY);
    expect(await reg.sweep()).toEqual([]);
    advance(6 * DAY);
    expect((await reg.sweep()).sort()).toEqual([old.id, recent.id].sort());
    expect(reg.get(old.id)).toBeUndefined();
  });

  it('deletes the least recently used results first while all together exceed the disk cap', async () => {
    const { reg, finished, advance } = registry({ diskCapBytes: 25 });
    const a = await finished(10);
    advance(1000);
    const b = await finished(10);
    advance(1000);
    const c = await finished(10);
    advance(1000);
    reg.touch(a.id); // a was read last: b is now the oldest
    expect(await reg.sweep()).toEqual([b.id]);
    expect(
      reg
        .all()
        .map((j) => j.id)
        .sort(),
    ).toEqual([a.id, c.id].sort());
  });

  it('never deletes a job that is building or has a client attached', async () => {
    const { reg, finished, advance } = registry({ retentionMs: DAY, diskCapBytes: 1 });
    const held = await finished(10);
    held.attached = 1;
    advance(2 * DAY);
    expect(await reg.sweep()).toEqual([]);
    // Attached but finished: kept, yet it holds no build slot.
    expect(holdsSlot(held)).toBe(false);
  });
});
