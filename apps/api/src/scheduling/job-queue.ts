import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { DataSource, In, IsNull, MoreThan, Not } from 'typeorm';
import type { JobParams, QueueInfo } from '@aegis/protocol';
import { JobRow } from '../db/entities.js';
import { CLOCK, type Clock } from '../clock.js';
import { CONFIG, type Config } from '../config.js';
import { LOGGER, type Logger } from '../logger.js';
import { EventStore } from '../signaling/event-store.js';
import { JobsService } from '../jobs/jobs.service.js';
import { MachinesService } from '../machines/machines.service.js';
import { fairOrder } from './fairness.js';
import { estimateQueue, median, pairKey, type RunningJob } from './queue-estimate.js';

/** How many waiting jobs one look at the queue reads (the rest wait their turn to be seen). */
const QUEUE_WINDOW = 1000;
/** Recent build times are read at most this often for the estimate. */
const ESTIMATE_CACHE_MS = 10_000;
/** The estimate goes by the median of this many recent builds of the same (IDF version, target)… */
const RECENT_PER_PAIR = 20;
/** …found among this many most recently finished builds. */
const RECENT_WINDOW = 500;
/** When the queue formed is looked up at most this often (per oldest waiting job). */
const FORMED_CACHE_MS = 1000;
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
  private recent: { at: number; byPair: Map<string, number>; all: number | null } | undefined;
  private lastAnnounce = -Infinity;

  constructor(
    private readonly ds: DataSource,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(CONFIG) private readonly cfg: Config,
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
    // Turns taken since the queue formed: round-robin across users over the whole busy spell.
    const since = await this.queueFormedAt(Math.min(...pending.map((j) => j.createdAt)));
    const rows: { user_id: string; n: string | number }[] = await repo
      .createQueryBuilder('j')
      .select('j.user_id', 'user_id')
      .addSelect('COUNT(*)', 'n')
      .where(`j.assigned_at >= :since AND j.kind = 'build'`, { since })
      .groupBy('j.user_id')
      .getRawMany();
    return fairOrder(pending, new Map(rows.map((r) => [r.user_id, Number(r.n)])));
  }

  /**
   * When the queue formed (its current busy spell began), from the oldest waiting job's arrival: a build assigned
   * after that moment was itself waiting then, so the spell reaches back to its arrival; repeated until nothing
   * older chains on. Counting turns from the oldest waiting job alone forgot the turns users had while the burst
   * was still arriving, so a user could get two turns ahead of another (bench/queue.mjs: turn spread 2). Cached
   * for a second per oldest waiting job (an older job granted but offered only later may still reach further back).
   */
  private async queueFormedAt(oldestWaiting: number): Promise<number> {
    if (this.formed?.oldest === oldestWaiting && performance.now() < this.formed.until) return this.formed.at;
    let at = oldestWaiting;
    for (let i = 0; i < 8; i++) {
      const [r] = await this.ds
        .getRepository(JobRow)
        .createQueryBuilder('j')
        .select('MIN(j.created_at)', 'at')
        .where(`j.assigned_at >= :at AND j.kind = 'build'`, { at })
        .getRawMany<{ at: string | number | null }>();
      const earlier = r?.at == null ? at : Number(r.at);
      if (earlier >= at) break;
      at = earlier;
    }
    this.formed = { oldest: oldestWaiting, at, until: performance.now() + FORMED_CACHE_MS };
    return at;
  }

  private formed: { oldest: number; at: number; until: number } | undefined;

  /**
   * Waiting jobs a machine may take now, best first: the queue without the builds of users who already run their
   * limit (USER_MAX_CONCURRENT_JOBS) — those wait, the others' jobs go ahead — counting each user's earlier jobs
   * in this list as started (one look hands out several).
   */
  async dispatchable(ordered?: JobRow[]): Promise<JobRow[]> {
    const list = ordered ?? (await this.ordered());
    const builds = list.filter((j) => j.kind === 'build');
    if (!builds.length) return list;
    const running = await this.runningByUser([...new Set(builds.map((j) => j.userId))]);
    const max = this.cfg.userMaxConcurrentJobs;
    return list.filter((j) => {
      if (j.kind !== 'build') return true;
      const n = running.get(j.userId) ?? 0;
      if (n >= max) return false;
      running.set(j.userId, n + 1);
      return true;
    });
  }

  /** Builds holding a slot (assigned or running), per user, for these users. */
  private async runningByUser(userIds: string[]): Promise<Map<string, number>> {
    const rows: { user_id: string; n: string | number }[] = await this.ds
      .getRepository(JobRow)
      .createQueryBuilder('j')
      .select('j.user_id', 'user_id')
      .addSelect('COUNT(*)', 'n')
      .where(`j.state IN ('assigned','running') AND j.kind = 'build' AND j.user_id IN (:...userIds)`, { userIds })
      .groupBy('j.user_id')
      .getRawMany();
    return new Map(rows.map((r) => [r.user_id, Number(r.n)]));
  }

  /** Each waiting job's place and estimated wait (scheduling/queue-estimate.ts). */
  async positions(ordered?: JobRow[]): Promise<Map<string, QueueInfo>> {
    const list = (ordered ?? (await this.ordered())).filter((j) => j.kind === 'build');
    if (!list.length) return new Map();
    const now = this.clock.now();
    const [recent, running, machines] = await Promise.all([
      this.recentDurations(),
      this.ds.getRepository(JobRow).find({
        where: { state: In(['assigned', 'running']), kind: 'build' },
        select: { userId: true, machineId: true, params: true, assignedAt: true, createdAt: true },
      }),
      this.machines.all(),
    ]);
    return estimateQueue({
      now,
      waiting: list,
      running: running.map((r): RunningJob => ({
        userId: r.userId,
        machineId: r.machineId,
        params: r.params,
        assignedAt: r.assignedAt ?? r.createdAt,
      })),
      machines: machines.map((m) => this.machines.info(m, now)),
      maxRunningPerUser: this.cfg.userMaxConcurrentJobs,
      durationSecs: (p: JobParams) => recent.byPair.get(pairKey(p)) ?? recent.all,
    });
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

  /**
   * Median slot time (claim → end, seconds) of recent finished builds per (IDF version, target), and over all of
   * them (the fallback for a pair never built yet). Failed builds count: they held a slot as long as they ran.
   */
  private async recentDurations(): Promise<{ byPair: Map<string, number>; all: number | null }> {
    const now = this.clock.now();
    if (this.recent && now - this.recent.at < ESTIMATE_CACHE_MS) return this.recent;
    const rows = await this.ds.getRepository(JobRow).find({
      where: {
        state: In(['succeeded', 'failed']),
        kind: 'build',
        assignedAt: Not(IsNull()),
        finishedAt: Not(IsNull()),
      },
      select: { params: true, assignedAt: true, finishedAt: true },
      order: { finishedAt: 'DESC' },
      take: RECENT_WINDOW,
    });
    const perPair = new Map<string, number[]>();
    const all: number[] = [];
    for (const r of rows) {
      const secs = Math.max(0, (r.finishedAt! - r.assignedAt!) / 1000);
      const k = pairKey(r.params);
      const xs = perPair.get(k) ?? [];
      if (xs.length < RECENT_PER_PAIR) xs.push(secs);
      perPair.set(k, xs);
      if (all.length < RECENT_PER_PAIR) all.push(secs);
    }
    const byPair = new Map([...perPair].map(([k, xs]) => [k, median(xs)!]));
    this.recent = { at: now, byPair, all: median(all) };
    return this.recent;
  }

  onModuleDestroy(): void {
    this.stopped = true;
  }
}
