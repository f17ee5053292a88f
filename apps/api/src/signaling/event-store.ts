import { Inject, Injectable } from '@nestjs/common';
import { DataSource, In, MoreThan } from 'typeorm';
import type { SignalingEvent } from '@aegis/protocol';
import { SignalingEventRow } from '../db/entities.js';
import { CLOCK, type Clock } from '../clock.js';
import { Notifier } from '../db/notifier.js';

/** Signaling rows live this long: long enough for any reconnect during a job's setup and run. */
export const SIGNALING_TTL_MS = 6 * 3600_000;

type Payload = Record<string, unknown>;

/** Signaling messages as DB rows, so any API instance can serve any step. */
@Injectable()
export class EventStore {
  private readonly listeners = new Set<() => void>();

  constructor(
    private readonly ds: DataSource,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly notifier: Notifier,
  ) {}

  /** Called after each local insert so this instance's streams don't wait for the next poll. */
  onLocalInsert(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  async add(jobId: string, audience: 'client' | 'machine', type: string, payload: Payload): Promise<number> {
    const now = this.clock.now();
    const row = Object.assign(new SignalingEventRow(), {
      jobId,
      audience,
      type,
      payload,
      createdAt: now,
      expiresAt: now + SIGNALING_TTL_MS,
    });
    await this.ds.getRepository(SignalingEventRow).insert(row as never);
    for (const fn of this.listeners) fn();
    this.notifier.notify('signal');
    return row.seq;
  }

  /** Many client-bound events in one INSERT and one wake-up (e.g. every queued job's new place). */
  async addClientMany(events: Array<{ jobId: string; type: string; payload: Payload }>): Promise<void> {
    if (!events.length) return;
    const now = this.clock.now();
    const rows = events.map((e) =>
      Object.assign(new SignalingEventRow(), {
        jobId: e.jobId,
        audience: 'client' as const,
        type: e.type,
        payload: e.payload,
        createdAt: now,
        expiresAt: now + SIGNALING_TTL_MS,
      }),
    );
    await this.ds.getRepository(SignalingEventRow).insert(rows as never);
    for (const fn of this.listeners) fn();
    this.notifier.notify('signal');
  }

  /** Client-bound events of these jobs after `after`, in order. */
  async clientEvents(jobIds: string[], after: number): Promise<SignalingEventRow[]> {
    if (!jobIds.length) return [];
    return this.ds.getRepository(SignalingEventRow).find({
      where: { jobId: In(jobIds), audience: 'client', seq: MoreThan(after) },
      order: { seq: 'ASC' },
      take: 1000,
    });
  }

  /** The client's trickled candidates, for the machine. */
  async machineCandidates(jobId: string, after: number): Promise<SignalingEventRow[]> {
    return this.ds.getRepository(SignalingEventRow).find({
      where: { jobId, audience: 'machine', type: 'candidate', seq: MoreThan(after) },
      order: { seq: 'ASC' },
      take: 500,
    });
  }

  async deleteExpired(): Promise<number> {
    const r = await this.ds
      .createQueryBuilder()
      .delete()
      .from(SignalingEventRow)
      .where('expires_at < :now', { now: this.clock.now() })
      .execute();
    return r.affected ?? 0;
  }
}

export function toWire(row: SignalingEventRow): SignalingEvent {
  return { ...row.payload, type: row.type, seq: row.seq, job_id: row.jobId } as SignalingEvent;
}
