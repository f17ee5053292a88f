import { Inject, Injectable } from '@nestjs/common';
import { DataSource, In, LessThan } from 'typeorm';
import { JOB_TRANSITIONS, type ErrorBody, type JobState } from '@aegis/protocol';
import { JobRow } from '../db/entities.js';
import { CLOCK, type Clock } from '../clock.js';
import { AppError, notFound } from '../errors.js';
import { EventStore } from '../signaling/event-store.js';
import type { UserPrincipal } from '../auth/principal.js';

export const ACTIVE_STATES: JobState[] = ['pending', 'assigned', 'running'];

export type JobChangeListener = (job: JobRow) => void | Promise<void>;

/** Job rows and their state machine. Every change is a conditional UPDATE, so instances never clash. */
@Injectable()
export class JobsService {
  private readonly listeners: JobChangeListener[] = [];

  constructor(
    private readonly ds: DataSource,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly events: EventStore,
  ) {}

  onChange(fn: JobChangeListener): void {
    this.listeners.push(fn);
  }

  get repo() {
    return this.ds.getRepository(JobRow);
  }

  async get(id: string): Promise<JobRow | null> {
    return this.repo.findOneBy({ id });
  }

  /** Owner or admin; everyone else is told it does not exist. */
  async getVisible(id: string, user: UserPrincipal): Promise<JobRow> {
    const job = await this.get(id);
    if (!job || (job.userId !== user.userId && user.role !== 'admin')) throw notFound('Job');
    return job;
  }

  async getOwned(id: string, user: UserPrincipal): Promise<JobRow> {
    const job = await this.get(id);
    if (!job || job.userId !== user.userId) throw notFound('Job');
    return job;
  }

  /**
   * Move a job from `from` to `to` if it is still in `from`. Returns the updated row, or null when another
   * actor changed it first.
   */
  async transition(
    id: string,
    from: JobState,
    to: JobState,
    patch: Partial<Pick<JobRow, 'error' | 'exitCode' | 'sizes' | 'machineId' | 'cancelRequested'>> = {},
  ): Promise<JobRow | null> {
    if (!JOB_TRANSITIONS[from].includes(to))
      throw new AppError(409, 'illegal_transition', `A ${from} job cannot become ${to}.`);
    const now = this.clock.now();
    const set: Record<string, unknown> = { state: to };
    if (patch.error !== undefined) set.error = patch.error;
    if (patch.exitCode !== undefined) set.exitCode = patch.exitCode;
    if (patch.sizes !== undefined) set.sizes = patch.sizes;
    if (patch.machineId !== undefined) set.machineId = patch.machineId;
    if (patch.cancelRequested !== undefined) set.cancelRequested = patch.cancelRequested;
    if (to === 'assigned') set.assignedAt = now;
    if (to === 'running') set.startedAt = now;
    if (['succeeded', 'failed', 'canceled', 'expired'].includes(to)) set.finishedAt = now;
    const r = await this.ds
      .createQueryBuilder()
      .update(JobRow)
      .set(set)
      .where('id = :id AND state = :from', { id, from })
      .callListeners(false)
      .updateEntity(false)
      .execute();
    if (!r.affected) return null;
    const job = (await this.get(id))!;
    await this.announce(job);
    return job;
  }

  /**
   * Tell the job's owner (SSE) and subscribers (webhooks) about its state; `before` are events that go first in
   * the same insert (e.g. `assigned`).
   */
  async announce(job: JobRow, before: Array<{ type: string; payload: Record<string, unknown> }> = []): Promise<void> {
    const rows = [...before, { type: 'state', payload: { state: job.state } }];
    if (job.error && (job.state === 'failed' || job.state === 'expired'))
      rows.push({ type: 'error', payload: { error: job.error } });
    await this.events.addClientMany(rows.map((r) => ({ jobId: job.id, ...r })));
    for (const fn of this.listeners) await fn(job);
  }

  /** Owner cancels: a pending job ends at once; a machine's job ends too and the machine is told. */
  async cancel(id: string, user: UserPrincipal): Promise<JobRow> {
    for (let i = 0; i < 3; i++) {
      const job = await this.getOwned(id, user);
      if (!JOB_TRANSITIONS[job.state].includes('canceled'))
        throw new AppError(409, 'illegal_transition', `The job is already ${job.state}; it cannot be canceled.`);
      const error: ErrorBody = { code: 'canceled', message: 'The owner canceled the job.' };
      const done = await this.transition(id, job.state, 'canceled', {
        error,
        cancelRequested: job.machineId ? 1 : 0,
      });
      if (done) return done;
    }
    throw new AppError(409, 'conflict', 'The job changed while canceling; try again.');
  }

  /** Jobs canceled on this machine that it has not been told about yet; marks them told. */
  async takeCancellations(machineId: string): Promise<string[]> {
    const rows = await this.repo.find({ where: { machineId, cancelRequested: 1 }, select: { id: true } });
    if (!rows.length) return [];
    await this.repo.update({ id: In(rows.map((r) => r.id)), cancelRequested: 1 }, { cancelRequested: 2 });
    return rows.map((r) => r.id);
  }

  /** A pending job nobody claimed before its grant (plus grace) ran out. */
  async expireOverdue(): Promise<number> {
    const due = await this.repo.find({
      where: { state: 'pending', expiresAt: LessThan(this.clock.now()) },
      select: { id: true },
      take: 200,
    });
    let n = 0;
    for (const { id } of due) {
      const error = {
        code: 'expired',
        message:
          'No machine took the job in time (before its grant expired without an offer, or within the queue limit QUEUE_MAX_WAIT_SECS); request a new build.',
      };
      if (await this.transition(id, 'pending', 'expired', { error })) n++;
    }
    return n;
  }

  /**
   * Queued jobs whose client closed its signaling stream more than `graceMs` ago and did not come back (page
   * closed, process gone): canceled, so they neither hold a place nor, once claimed, a machine's slot.
   */
  async cancelGone(graceMs: number): Promise<number> {
    const due = await this.repo.find({
      where: { state: 'pending', clientLeftAt: LessThan(this.clock.now() - graceMs) },
      select: { id: true },
      take: 200,
    });
    let n = 0;
    for (const { id } of due) {
      const error = {
        code: 'client_left',
        message:
          'The client disconnected while the job waited in the queue, so the job was canceled; start the build again.',
      };
      if (await this.transition(id, 'pending', 'canceled', { error })) n++;
    }
    return n;
  }

  /** Fail the job as lost with its machine. */
  async failLost(job: Pick<JobRow, 'id' | 'state'>, message: string): Promise<boolean> {
    const error = { code: 'agent_lost', message };
    return !!(await this.transition(job.id, job.state, 'failed', { error }));
  }

  async list(userId: string, limit: number, cursor: string | undefined, state: JobState | undefined) {
    const qb = this.repo.createQueryBuilder('j').where('j.user_id = :userId', { userId });
    if (state) qb.andWhere('j.state = :state', { state });
    if (cursor) {
      const [at, id] = decodeCursor(cursor);
      qb.andWhere('(j.created_at < :at OR (j.created_at = :at AND j.id < :id))', { at, id });
    }
    const rows = await qb
      .orderBy('j.created_at', 'DESC')
      .addOrderBy('j.id', 'DESC')
      .take(limit + 1)
      .getMany();
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return { rows: page, next: rows.length > limit && last ? encodeCursor(last.createdAt, last.id) : null };
  }
}

const encodeCursor = (at: number, id: string) => Buffer.from(`${at}:${id}`).toString('base64url');
function decodeCursor(c: string): [number, string] {
  const [at, id] = Buffer.from(c, 'base64url').toString().split(':');
  if (!at || !id || !Number.isFinite(Number(at)))
    throw new AppError(400, 'invalid_input', 'cursor is invalid; pass next_cursor as given.');
  return [Number(at), id];
}
