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
import { TokenBuckets } from './token-bucket.js';
import { checkLimits } from './limits.js';

const DAY_MS = 24 * 3600_000;

/** `POST /grant/request`: checks, placement, a pending job and its signed grant. */
@Injectable()
export class GrantsService {
  private readonly buckets: TokenBuckets;

  constructor(
    private readonly ds: DataSource,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(CONFIG) private readonly cfg: Config,
    private readonly issuer: Issuer,
    private readonly keys: SigningKeysService,
    private readonly machines: MachinesService,
    private readonly metrics: Metrics,
  ) {
    this.buckets = new TokenBuckets(cfg.grantRatePerMin, () => clock.now());
  }

  async request(user: UserPrincipal, req: GrantRequestParsed): Promise<GrantResponse> {
    const wait = this.buckets.take(user.userId);
    if (wait > 0)
      throw new AppError(429, 'rate_limited', `Too many grant requests; retry in ${wait} s.`, {
        'Retry-After': String(wait),
      });

    const now = this.clock.now();
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

    const usage = await this.usage(user.userId, now);
    checkLimits(usage, { maxConcurrent: this.cfg.userMaxConcurrentJobs, daily: this.cfg.userDailyJobs }, now);

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
    await this.store(job);
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

  /**
   * Insert the pending job and count it for today. PostgreSQL: one statement (a data-modifying CTE), so one
   * round trip and one commit; SQLite (in-process, synchronous): two statements.
   */
  private async store(j: JobRow): Promise<void> {
    const p = this.p;
    const cols =
      'id, user_id, kind, parent_job_id, pinned_machine_id, machine_id, state, priority, params, channels, grant_jws, ' +
      'offer, offered_at, expires_at, error, exit_code, sizes, cancel_requested, created_at';
    const values = [
      j.id,
      j.userId,
      j.kind,
      j.parentJobId,
      j.pinnedMachineId,
      null,
      j.state,
      j.priority,
      JSON.stringify(j.params),
      JSON.stringify(j.channels),
      j.grantJws,
      null,
      null,
      j.expiresAt,
      null,
      null,
      null,
      0,
      j.createdAt,
    ];
    const insertJob = `INSERT INTO jobs (${cols}) VALUES (${values.map((_, i) => p(i + 1)).join(', ')})`;
    const n = values.length;
    const upsert = (a: string, b: string) =>
      `INSERT INTO user_daily_usage (user_id, day, jobs) VALUES (${a}, ${b}, 1)
       ON CONFLICT (user_id, day) DO UPDATE SET jobs = user_daily_usage.jobs + 1`;
    const day = utcDay(j.createdAt);
    if (this.ds.options.type === 'postgres') {
      await this.ds.query(`WITH j AS (${insertJob}) ${upsert(p(n + 1), p(n + 2))}`, [...values, j.userId, day]);
    } else {
      await this.ds.query(insertJob, values);
      await this.ds.query(upsert('?', '?'), [j.userId, day]);
    }
  }

  /** Positional parameter in the driver's syntax. */
  private readonly p = (i: number): string => (this.ds.options.type === 'postgres' ? `$${i}` : '?');
}

export const utcDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);
export const nextUtcDay = (ms: number): number => (Math.floor(ms / DAY_MS) + 1) * DAY_MS;
