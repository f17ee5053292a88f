import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import {
  GRANT_AUDIENCE,
  GRANT_JWS_TYP,
  PROTOCOL_VERSION,
  type GrantClaims,
  type GrantRequestParsed,
  type GrantResponse,
  type JobParams,
} from '@aegis/protocol';
import { JobRow } from '../db/entities.js';
import { CLOCK, iso, type Clock } from '../clock.js';
import { CONFIG, Issuer, type Config } from '../config.js';
import { AppError, notFound } from '../errors.js';
import type { UserPrincipal } from '../auth/principal.js';
import { MachinesService } from '../machines/machines.service.js';
import { place } from '../scheduling/matcher.js';
import { Metrics } from '../health/metrics.js';
import { SigningKeysService } from './signing-keys.service.js';
import { clampTtl } from './ttl.js';
import { signCompactEdDsa } from './jws.js';
import { rateIntervalMs, rateUpsertSql, retryAfterSecs } from './grant-rate.js';
import { checkLimits } from './limits.js';

const DAY_MS = 24 * 3600_000;

/** `POST /grant/request`: checks, placement, a pending job and its signed grant. */
@Injectable()
export class GrantsService {
  constructor(
    private readonly ds: DataSource,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(CONFIG) private readonly cfg: Config,
    private readonly issuer: Issuer,
    private readonly keys: SigningKeysService,
    private readonly machines: MachinesService,
    private readonly metrics: Metrics,
  ) {}

  async request(user: UserPrincipal, req: GrantRequestParsed): Promise<GrantResponse> {
    const now = this.clock.now();
    // The rate limit counts every grant request, refused or not. SQLite takes the token first, in its own
    // statement; PostgreSQL takes it inside the insert (one round trip), or on its own when refused earlier.
    const pg = this.ds.options.type === 'postgres';
    if (!pg) await this.takeRate(user.userId, now);
    const step = { rateTaken: !pg };
    try {
      return await this.issue(user, req, now, step);
    } catch (e) {
      if (!step.rateTaken) await this.takeRate(user.userId, now);
      throw e;
    }
  }

  /** One token from the user's shared bucket, or the 429 `rate_limited` with its `Retry-After`. */
  private async takeRate(userId: string, now: number): Promise<void> {
    const per = this.cfg.grantRatePerMin;
    const { sql, args } = (this.rateSql ??= rateUpsertSql(this.ds.options.type === 'postgres'));
    const rows: unknown[] = await this.ds.query(sql, args(userId, now, rateIntervalMs(per)));
    if (rows.length > 0) return;
    const [cur] = await this.ds.query(`SELECT tat FROM grant_rate WHERE user_id = ${this.p(1)}`, [userId]);
    throw rateLimited(retryAfterSecs(cur ? Number(cur.tat) : undefined, now, per));
  }

  private rateSql: ReturnType<typeof rateUpsertSql> | undefined;

  private async issue(
    user: UserPrincipal,
    req: GrantRequestParsed,
    now: number,
    step: { rateTaken: boolean },
  ): Promise<GrantResponse> {
    const pg = this.ds.options.type === 'postgres';
    const repo = this.ds.getRepository(JobRow);
    let pinned: string | null = null;
    if (req.attach_to_job_id) {
      const parent = await repo.findOneBy({ id: req.attach_to_job_id });
      if (!parent || parent.userId !== user.userId) throw notFound('Parent job');
      if (!parent.machineId)
        throw new AppError(
          409,
          'parent_not_run',
          'The parent job never ran on a machine, so there is nothing to attach to.',
        );
      pinned = parent.machineId;
    }

    const limits = { maxConcurrent: this.cfg.userMaxConcurrentJobs, daily: this.cfg.userDailyJobs };
    // PostgreSQL checks the limits inside the insert (one round trip, see storeChecked); SQLite checks here.
    if (!pg) checkLimits(await this.usage(user.userId, now), limits, now);

    const params: JobParams = {
      cpu_cores: req.cpu_cores,
      memory_mb: req.memory_mb,
      timeout_secs: req.timeout_secs,
      ...(req.target ? { target: req.target } : {}),
      ...(req.idf_version ? { idf_version: req.idf_version } : {}),
    };
    const placement = place(
      (await this.machines.all()).map((m) => this.machines.info(m, now)),
      { params, pinnedMachineId: pinned },
    );
    if (!placement.ok) throw new AppError(503, 'no_machine', placement.reason);

    const ttl = clampTtl(req.ttl_secs);
    const jobId = randomUUID();
    const iat = Math.floor(now / 1000);
    const kind = req.attach_to_job_id ? 'attach' : 'build';
    const claims: GrantClaims = {
      v: PROTOCOL_VERSION,
      iss: this.issuer.get(),
      aud: GRANT_AUDIENCE,
      sub: user.userId,
      jti: randomUUID(),
      iat,
      exp: iat + ttl,
      job_id: jobId,
      kind,
      ...(req.attach_to_job_id ? { attach_to_job_id: req.attach_to_job_id } : {}),
      params,
      channels: [...new Set(req.required_channels)],
      max_bandwidth_kbps: this.cfg.grantMaxBandwidthKbps,
      max_message_rate: this.cfg.grantMaxMessageRate,
      ice_servers: this.cfg.iceServers,
      peer_fingerprint: req.peer_fingerprint,
    };
    const signer = await this.keys.signer();
    const grant = signCompactEdDsa({ kid: signer.kid, typ: GRANT_JWS_TYP }, claims, signer.key);

    const job = Object.assign(new JobRow(), {
      id: jobId,
      userId: user.userId,
      kind,
      parentJobId: req.attach_to_job_id ?? null,
      pinnedMachineId: pinned,
      machineId: null,
      state: 'pending',
      priority: req.priority,
      params,
      channels: claims.channels,
      grantJws: grant,
      offer: null,
      offeredAt: null,
      expiresAt: (iat + ttl) * 1000 + this.cfg.pendingGraceSecs * 1000,
      error: null,
      exitCode: null,
      sizes: null,
      cancelRequested: 0,
      createdAt: now,
      assignedAt: null,
      startedAt: null,
      finishedAt: null,
    } satisfies JobRow);
    if (pg) {
      const r = await this.storeChecked(job, limits);
      step.rateTaken = true;
      if (!r.inserted) {
        if (!r.rateAllowed) throw rateLimited(retryAfterSecs(r.tat, now, this.cfg.grantRatePerMin));
        checkLimits(r, limits, now);
        throw new AppError(429, 'too_many_running', 'Your limits were reached meanwhile; retry shortly.', {
          'Retry-After': '1',
        });
      }
    } else await this.store(job);
    this.metrics.grantsIssued.inc();
    return {
      v: PROTOCOL_VERSION,
      job_id: jobId,
      grant,
      expires_at: iso((iat + ttl) * 1000),
      candidates: placement.candidates.map((m) => ({ machine_id: m.id, name: m.name })),
      ice_servers: this.cfg.iceServers,
    };
  }

  /**
   * One round trip: jobs in flight (counted up to the limit only, so the cost is bounded) and grants issued
   * today (UTC) from the per-day counter.
   */
  private async usage(userId: string, now: number) {
    const p = this.p;
    const [row] = await this.ds.query(
      `SELECT (SELECT COUNT(*) FROM (SELECT 1 FROM jobs WHERE user_id = ${p(1)} AND state IN ('pending','assigned','running') LIMIT ${p(2)}) t) AS active,
              (SELECT jobs FROM user_daily_usage WHERE user_id = ${p(3)} AND day = ${p(4)}) AS today`,
      [userId, this.cfg.userMaxConcurrentJobs, userId, utcDay(now)],
    );
    return { active: Number(row?.active ?? 0), today: Number(row?.today ?? 0), nextDayAt: nextUtcDay(now) };
  }

  /** The job row's columns, values and PostgreSQL casts, in one order (omitted columns start NULL). */
  private row(j: JobRow) {
    return [
      ['id', j.id, ''],
      ['user_id', j.userId, ''],
      ['kind', j.kind, ''],
      ['parent_job_id', j.parentJobId, ''],
      ['pinned_machine_id', j.pinnedMachineId, ''],
      ['state', j.state, ''],
      ['priority', j.priority, '::integer'],
      ['params', JSON.stringify(j.params), ''],
      ['channels', JSON.stringify(j.channels), ''],
      ['grant_jws', j.grantJws, ''],
      ['expires_at', j.expiresAt, '::bigint'],
      ['cancel_requested', 0, '::integer'],
      ['created_at', j.createdAt, '::bigint'],
    ] as const;
  }

  /**
   * PostgreSQL: take a rate token, check the limits, insert the job and count it for today in ONE statement
   * (data-modifying CTEs), so one round trip. Returns what it saw and whether the job was inserted.
   */
  private async storeChecked(j: JobRow, limits: { maxConcurrent: number; daily: number }) {
    const cols = this.row(j);
    const base = 7; // $1 user, $2 max concurrent, $3 day, $4 daily quota, $5 now, $6 rate interval (ms)
    // The rate step (grant-rate.ts) with its parameters renumbered: user $1, now $5, interval $6.
    const rate = rateUpsertSql(true).sql.replace(/\$([23])/g, (_, n: string) => (n === '2' ? '$5' : '$6'));
    const sql = `WITH r AS (${rate}
      ), u AS (
        SELECT EXISTS (SELECT 1 FROM r) AS rate_allowed,
               -- The statement's snapshot: the arrival time before this request (for Retry-After when refused).
               (SELECT tat FROM grant_rate WHERE user_id = $1) AS tat,
               (SELECT COUNT(*) FROM (SELECT 1 FROM jobs WHERE user_id = $1 AND state IN ('pending','assigned','running') LIMIT $2::integer) t) AS active,
               COALESCE((SELECT jobs FROM user_daily_usage WHERE user_id = $1 AND day = $3), 0) AS today
      ), j AS (
        INSERT INTO jobs (${cols.map((c) => c[0]).join(', ')})
        SELECT ${cols.map((c, i) => `$${base + i}${c[2] || '::text'}`).join(', ')} FROM u
        WHERE u.rate_allowed AND u.active < $2::integer AND u.today < $4::integer
        RETURNING 1
      ), c AS (
        INSERT INTO user_daily_usage (user_id, day, jobs) SELECT $1, $3, 1 FROM j
        ON CONFLICT (user_id, day) DO UPDATE SET jobs = user_daily_usage.jobs + 1
        RETURNING 1
      )
      SELECT u.rate_allowed, u.tat, u.active, u.today, (SELECT COUNT(*) FROM j) AS inserted FROM u`;
    const day = utcDay(j.createdAt);
    const iv = rateIntervalMs(this.cfg.grantRatePerMin);
    const args = [j.userId, limits.maxConcurrent, day, limits.daily, j.createdAt, iv, ...cols.map((c) => c[1])];
    const [r] = await this.ds.query(sql, args);
    return {
      rateAllowed: r.rate_allowed === true,
      tat: r.tat == null ? undefined : Number(r.tat),
      active: Number(r.active),
      today: Number(r.today),
      nextDayAt: nextUtcDay(j.createdAt),
      inserted: Number(r.inserted) === 1,
    };
  }

  /** SQLite (in process, synchronous): insert the job, then count it for today. */
  private async store(j: JobRow): Promise<void> {
    const cols = this.row(j);
    await this.ds.query(
      `INSERT INTO jobs (${cols.map((c) => c[0]).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`,
      cols.map((c) => c[1]),
    );
    await this.ds.query(
      `INSERT INTO user_daily_usage (user_id, day, jobs) VALUES (?, ?, 1)
       ON CONFLICT (user_id, day) DO UPDATE SET jobs = user_daily_usage.jobs + 1`,
      [j.userId, utcDay(j.createdAt)],
    );
  }

  /** Positional parameter in the driver's syntax. */
  private readonly p = (i: number): string => (this.ds.options.type === 'postgres' ? `$${i}` : '?');
}

const rateLimited = (wait: number) =>
  new AppError(429, 'rate_limited', `Too many grant requests; retry in ${wait} s.`, { 'Retry-After': String(wait) });

export const utcDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
export const nextUtcDay = (ms: number): number => (Math.floor(ms / DAY_MS) + 1) * DAY_MS;
