import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import {
  GRANT_AUDIENCE,
  GRANT_JWS_TYP,
  PROTOCOL_VERSION,
  type ChannelName,
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
import { iceServersFor } from '../turn/turn-credentials.js';
import { SigningKeysService } from './signing-keys.service.js';
import { clampTtl } from './ttl.js';
import { signCompactEdDsa } from './jws.js';
import { rateIntervalMs, rateUpsertSql, retryAfterSecs } from './grant-rate.js';
import { checkLimits, queueFull, type UserLimits } from './limits.js';
import { withUserLock } from '../db/user-lock.js';

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
    // The rate limit counts every grant request, refused or not: its token is taken in the same atomic step
    // that checks the limits and inserts the job, or on its own when the request was refused before that.
    const step = { rateTaken: false };
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
    // Priority orders the queue across users, so only an administrator may raise it; lowering is anyone's right.
    if (req.priority > 0 && user.role !== 'admin')
      throw new AppError(
        403,
        'priority_forbidden',
        `Only administrators may give a job a priority above 0 (you asked for ${req.priority}); omit priority or use 0 or less.`,
      );
    const channels = grantChannels(req);
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
      if (parent.resultsExpiredAt !== null)
        throw new AppError(
          410,
          'results_expired',
          `The machine deleted this job's results on ${iso(parent.resultsExpiredAt)} (they are kept for a limited time); run the build again from the same source.`,
        );
      pinned = parent.machineId;
    }

    // Running builds per user are capped by the scheduler, not here: over that, jobs wait their turn in the queue.
    const limits: UserLimits = { maxQueued: this.cfg.userMaxQueuedJobs, daily: this.cfg.userDailyJobs };

    const params: JobParams = {
      cpu_cores: req.cpu_cores,
      memory_mb: req.memory_mb,
      timeout_secs: req.timeout_secs,
      ...(req.target ? { target: req.target } : {}),
      ...(req.idf_version ? { idf_version: req.idf_version } : {}),
    };
    // Capable machines only; busy ones are fine: the job waits in the queue once its offer arrives.
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
      channels,
      max_bandwidth_kbps: this.cfg.grantMaxBandwidthKbps,
      max_message_rate: this.cfg.grantMaxMessageRate,
      ice_servers: iceServersFor(this.cfg, user.userId, now),
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
      resultsExpiredAt: null,
      clientLeftAt: null,
    } satisfies JobRow);
    const r = pg ? await this.storeChecked(job, limits) : this.storeCheckedSqlite(job, limits);
    step.rateTaken = true;
    if (!r.inserted) {
      if (!r.rateAllowed) throw rateLimited(retryAfterSecs(r.tat, now, this.cfg.grantRatePerMin));
      checkLimits(r, limits, now);
      throw queueFull(r.queued, limits.maxQueued);
    }
    this.metrics.grantsIssued.inc();
    return {
      v: PROTOCOL_VERSION,
      job_id: jobId,
      grant,
      expires_at: iso((iat + ttl) * 1000),
      candidates: placement.candidates.map((m) => ({ machine_id: m.id, name: m.name })),
      ice_servers: claims.ice_servers,
    };
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
   * (data-modifying CTEs), run under the user's advisory lock. Returns what it saw and whether it inserted.
   */
  private async storeChecked(j: JobRow, limits: UserLimits): Promise<StoreResult> {
    const cols = this.row(j);
    const day = utcDay(j.createdAt);
    const iv = rateIntervalMs(this.cfg.grantRatePerMin);
    const args = [j.userId, limits.maxQueued, day, limits.daily, j.createdAt, iv, ...cols.map((c) => c[1])];
    const text = (this.grantSql ??= this.grantInsertSql(j));
    // The statement alone is one snapshot: concurrent requests would all see the same count and all insert.
    // A per-user lock around it makes the check and the insert one step across every instance.
    const [r] = await withUserLock(this.ds, 'grant', j.userId, async (c) => {
      const res = await c.query({ name: 'aegis_grant_insert', text, values: args });
      return res.rows as Record<string, unknown>[];
    });
    return {
      rateAllowed: r!.rate_allowed === true,
      tat: r!.tat == null ? undefined : Number(r!.tat),
      queued: Number(r!.queued),
      today: Number(r!.today),
      nextDayAt: nextUtcDay(j.createdAt),
      inserted: Number(r!.inserted) === 1,
    };
  }

  private grantSql: string | undefined;

  /** The grant statement's text (fixed: the columns come in one order; see storeChecked for the parameters). */
  private grantInsertSql(j: JobRow): string {
    const cols = this.row(j);
    const base = 7; // $1 user, $2 max queued, $3 day, $4 daily quota, $5 now, $6 rate interval (ms)
    // The rate step (grant-rate.ts) with its parameters renumbered: user $1, now $5, interval $6.
    const rate = rateUpsertSql(true).sql.replace(/\$([23])/g, (_, n: string) => (n === '2' ? '$5' : '$6'));
    return `WITH r AS (${rate}
      ), u AS (
        SELECT EXISTS (SELECT 1 FROM r) AS rate_allowed,
               -- The statement's snapshot: the arrival time before this request (for Retry-After when refused).
               (SELECT tat FROM grant_rate WHERE user_id = $1) AS tat,
               (SELECT COUNT(*) FROM (SELECT 1 FROM jobs WHERE user_id = $1 AND state = 'pending' LIMIT $2::integer) t) AS queued,
               COALESCE((SELECT jobs FROM user_daily_usage WHERE user_id = $1 AND day = $3), 0) AS today
      ), j AS (
        INSERT INTO jobs (${cols.map((c) => c[0]).join(', ')})
        SELECT ${cols.map((c, i) => `$${base + i}${c[2] || '::text'}`).join(', ')} FROM u
        WHERE u.rate_allowed AND u.queued < $2::integer AND u.today < $4::integer
        RETURNING 1
      ), c AS (
        INSERT INTO user_daily_usage (user_id, day, jobs) SELECT $1, $3, 1 FROM j
        ON CONFLICT (user_id, day) DO UPDATE SET jobs = user_daily_usage.jobs + 1
        RETURNING 1
      )
      SELECT u.rate_allowed, u.tat, u.queued, u.today, (SELECT COUNT(*) FROM j) AS inserted FROM u`;
  }

  private sqliteGrant: ((j: JobRow, limits: UserLimits) => StoreResult) | undefined;

  /**
   * SQLite (in process): the same step as storeChecked, as one synchronous transaction on the connection
   * (prepared once), so a grant commits once and no other request interleaves between check and insert.
   */
  private storeCheckedSqlite(j: JobRow, limits: UserLimits): StoreResult {
    if (!this.sqliteGrant) {
      const db = (this.ds.driver as unknown as { databaseConnection: SqliteDb }).databaseConnection;
      const cols = this.row(j);
      const rate = rateUpsertSql(false);
      const rateStmt = db.prepare(rate.sql);
      const tatStmt = db.prepare('SELECT tat FROM grant_rate WHERE user_id = ?');
      // Waiting jobs are counted up to the limit only, so the cost is bounded.
      const usageStmt = db.prepare(
        `SELECT (SELECT COUNT(*) FROM (SELECT 1 FROM jobs WHERE user_id = ? AND state = 'pending' LIMIT ?) t) AS queued,
                (SELECT jobs FROM user_daily_usage WHERE user_id = ? AND day = ?) AS today`,
      );
      const insertStmt = db.prepare(
        `INSERT INTO jobs (${cols.map((c) => c[0]).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`,
      );
      const countStmt = db.prepare(
        `INSERT INTO user_daily_usage (user_id, day, jobs) VALUES (?, ?, 1)
         ON CONFLICT (user_id, day) DO UPDATE SET jobs = user_daily_usage.jobs + 1`,
      );
      const iv = rateIntervalMs(this.cfg.grantRatePerMin);
      this.sqliteGrant = db.transaction((job: JobRow, lim: UserLimits): StoreResult => {
        const now = job.createdAt;
        const day = utcDay(now);
        const nextDayAt = nextUtcDay(now);
        if (rateStmt.all(...rate.args(job.userId, now, iv)).length === 0) {
          const cur = tatStmt.get(job.userId) as { tat: number } | undefined;
          return { rateAllowed: false, tat: cur?.tat, queued: 0, today: 0, nextDayAt, inserted: false };
        }
        const u = usageStmt.get(job.userId, lim.maxQueued, job.userId, day) as {
          queued: number;
          today: number | null;
        };
        const queued = Number(u.queued);
        const today = Number(u.today ?? 0);
        const ok = queued < lim.maxQueued && today < lim.daily;
        if (ok) {
          insertStmt.run(...this.row(job).map((c) => c[1]));
          countStmt.run(job.userId, day);
        }
        return { rateAllowed: true, tat: undefined, queued, today, nextDayAt, inserted: ok };
      });
    }
    return this.sqliteGrant(j, limits);
  }

  /** Positional parameter in the driver's syntax. */
  private readonly p = (i: number): string => (this.ds.options.type === 'postgres' ? `$${i}` : '?');
}

/** What the grant's atomic step saw, and whether it inserted the job. */
interface StoreResult {
  rateAllowed: boolean;
  /** The rate limit's arrival time before this request (when refused by it). */
  tat: number | undefined;
  queued: number;
  today: number;
  nextDayAt: number;
  inserted: boolean;
}

/** The part of a better-sqlite3 connection used here (the driver's own connection, shared with TypeORM). */
interface SqliteDb {
  prepare(sql: string): {
    all(...args: unknown[]): unknown[];
    get(...args: unknown[]): unknown;
    run(...args: unknown[]): unknown;
  };
  transaction<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R;
}

const rateLimited = (wait: number) =>
  new AppError(429, 'rate_limited', `Too many grant requests; retry in ${wait} s.`, { 'Retry-After': String(wait) });

/**
 * The channels a grant names: the requested ones, once each. A reattachment is read-only and the machine never
 * opens a terminal for it, so `pty` is left out of an attach grant (a client asking for it gets the others).
 */
export function grantChannels(req: Pick<GrantRequestParsed, 'required_channels' | 'attach_to_job_id'>): ChannelName[] {
  const wanted = [...new Set(req.required_channels)];
  if (!req.attach_to_job_id) return wanted;
  const channels = wanted.filter((c) => c !== 'pty');
  if (!channels.length)
    throw new AppError(
      400,
      'invalid_input',
      'An attach grant cannot open a terminal (pty): a reattached job is read-only. Ask for espctl and/or firmware.',
    );
  return channels;
}

export const utcDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
export const nextUtcDay = (ms: number): number => (Math.floor(ms / DAY_MS) + 1) * DAY_MS;
