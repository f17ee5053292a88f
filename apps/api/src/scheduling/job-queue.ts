import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { DataSource, In, IsNull, MoreThan, Not } from 'typeorm';
import type { QueueInfo } from '@aegis/protocol';
import { JobRow } from '../db/entities.js';
import { CLOCK, type Clock } from '../clock.js';
import { LOGGER, type Logger } from '../logger.js';
import { EventStore } from '../signaling/event-store.js';
import { JobsService } from '../jobs/jobs.service.js';
import { MachinesService } from '../machines/machines.service.js';
import { fairOrder } from './fairness.js';

/** How many waiting jobs one look at the queue reads (the rest wait their turn to be seen). */
const QUEUE_WINDOW = 1000;
/** Recent build times are read at most this often for the estimate. */
const ESTIMATE_CACHE_MS = 10_000;
/** After an announcement, further queue changes within this long are announced together (a burst of claims). */
const ANNOUNCE_COALESCE_MS = 100;

/**
 * The queue: pending jobs with an offer, in the order machines get them (priority, then round-robin by user,
 * counting the turns each user had since the queue formed). It lives in the database only, so every API instance sees the
 * same queue; this service orders it, tells each waiting client its place (signaling `state` events), and
 * estimates the wait.
 */
@Injectable()
export class JobQueue implements OnModuleDestroy {
  /** Positions this instance last announced, so a client hears only when its place changed. */
  private readonly told = new Map<string, number>();
  private announcing: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private avg: { at: number; secs: number | null } | undefined;
  private lastAnnounce = -Infinity;

  constructor(
    private readonly ds: DataSource,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(LOGGER) private readonly log: Logger,
    private readonly events: EventStore,
    private readonly machines: MachinesService,
    jobs: JobsService,
  ) {
    // A job left the queue (claimed, canceled, expired): everyone behind it moved up.
    jobs.onChange((j) => {
      if (j.state !== 'pending') {
        this.told.delete(j.id);
        this.changed();
      }
    });
  }

  /** Waiting jobs, best first. */
  async ordered(): Promise<JobRow[]> {
    const repo = this.ds.getRepository(JobRow);
    const pending = await repo.find({
      where: { state: 'pending', offeredAt: Not(IsNull()), expiresAt: MoreThan(this.clock.now()) },
      order: { createdAt: 'ASC' },
      take: QUEUE_WINDOW,
    });
    if (!pending.length) return [];
    // Turns taken since the oldest waiting job arrived: round-robin across users over the whole wait.
    const since = Math.min(...pending.map((j) => j.createdAt));
    const rows: { user_id: string; n: string | number }[] = await repo
      .createQueryBuilder('j')
      .select('j.user_id', 'user_id')
      .addSelect('COUNT(*)', 'n')
      .where(`j.assigned_at >= :since AND j.kind = 'build'`, { since })
      .groupBy('j.user_id')
      .getRawMany();
    return fairOrder(pending, new Map(rows.map((r) => [r.user_id, Number(r.n)])));
  }

  /** Each waiting job's place and estimated wait. */
  async positions(ordered?: JobRow[]): Promise<Map<string, QueueInfo>> {
    const list = (ordered ?? (await this.ordered())).filter((j) => j.kind === 'build');
    const out = new Map<string, QueueInfo>();
    if (!list.length) return out;
    const perSlot = await this.avgBuildSecs();
    const slots = await this.slots();
    list.forEach((j, i) => {
      const position = i + 1;
      out.set(j.id, {
        position,
        estimate_secs: perSlot === null ? null : Math.round(Math.ceil(position / slots) * perSlot),
      });
    });
    return out;
  }

  /** The queue place of one job (null when it is not waiting). */
  async infoOf(job: JobRow): Promise<QueueInfo | null> {
    if (job.state !== 'pending' || job.offeredAt === null || job.kind !== 'build') return null;
    return (await this.positions()).get(job.id) ?? null;
  }

  /** The queue changed (a job joined or left): tell the waiting clients their new places, coalesced. */
  changed(): void {
    if (this.stopped) return;
    if (this.announcing) {
      this.again = true;
      return;
    }
    this.announcing = (async () => {
      do {
        const wait = this.lastAnnounce + ANNOUNCE_COALESCE_MS - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        this.lastAnnounce = performance.now();
        this.again = false;
        await this.announce().catch((e: Error) => this.log.warn({ err: e.message }, 'queue announce failed'));
      } while (this.again && !this.stopped);
    })().finally(() => (this.announcing = undefined));
  }

  /** Resolves when no announcement is under way (tests). */
  async settled(): Promise<void> {
    while (this.announcing) await this.announcing;
  }

  private async announce(): Promise<void> {
    const places = await this.positions();
    for (const id of [...this.told.keys()]) if (!places.has(id)) this.told.delete(id);
    let moved = [...places].filter(([id, q]) => this.told.get(id) !== q.position);
    if (!moved.length) return;
    // Only jobs still waiting: a place announced after `assigned` would mislead the client.
    const still = await this.ds.getRepository(JobRow).find({
      where: { id: In(moved.map(([id]) => id)), state: 'pending' },
      select: { id: true },
    });
    const waiting = new Set(still.map((j) => j.id));
    moved = moved.filter(([id]) => waiting.has(id));
    await this.events.addClientMany(
      moved.map(([jobId, queue]) => ({ jobId, type: 'state', payload: { state: 'pending', queue } })),
    );
    for (const [id, q] of moved) this.told.set(id, q.position);
  }

  /** Mean run time of recent successful builds (null before the first). */
  private async avgBuildSecs(): Promise<number | null> {
    const now = this.clock.now();
    if (this.avg && now - this.avg.at < ESTIMATE_CACHE_MS) return this.avg.secs;
    const recent = await this.ds.getRepository(JobRow).find({
      where: { state: 'succeeded', kind: 'build', startedAt: Not(IsNull()) },
      select: { startedAt: true, finishedAt: true },
      order: { finishedAt: 'DESC' },
      take: 20,
    });
    const times = recent.filter((j) => j.finishedAt !== null).map((j) => (j.finishedAt! - j.startedAt!) / 1000);
    const secs = times.length ? times.reduce((a, b) => a + b, 0) / times.length : null;
    this.avg = { at: now, secs };
    return secs;
  }

  /** Build slots of the machines online now (at least 1, so an estimate exists while one restarts). */
  private async slots(): Promise<number> {
    const now = this.clock.now();
    const rows = await this.machines.all();
    const n = rows
      .filter((m) => this.machines.isOnline(m, now))
      .reduce((a, m) => a + (m.capacity?.total_slots ?? 0), 0);
    return Math.max(1, n);
  }

  onModuleDestroy(): void {
    this.stopped = true;
  }
}
