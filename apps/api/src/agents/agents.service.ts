import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { DataSource, In, IsNull, LessThan } from 'typeorm';
import {
  GRANT_JWS_TYP,
  JOB_TRANSITIONS,
  PROTOCOL_VERSION,
  type AgentJobOffer,
  type AgentStateReport,
  type CandidateBody,
  type ClaimResponse,
  type GrantClaims,
  type HeartbeatResponse,
  type MachineHeartbeat,
} from '@aegis/protocol';
import { JobRow } from '../db/entities.js';
import { CLOCK, iso, type Clock } from '../clock.js';
import { CONFIG, type Config } from '../config.js';
import { withUserLock } from '../db/user-lock.js';
import { AppError, notFound } from '../errors.js';
import { MachinesService } from '../machines/machines.service.js';
import { JobsService } from '../jobs/jobs.service.js';
import { EventStore } from '../signaling/event-store.js';
import { JobWatcher } from '../scheduling/job-watcher.js';
import type { MachinePrincipal } from '../auth/principal.js';
import type { MachineInfo } from '../scheduling/matcher.js';
import { SigningKeysService } from '../grants/signing-keys.service.js';
import { signCompactEdDsa } from '../grants/jws.js';

/** The machine side: heartbeats, the job long-poll, claims, answers and state reports. */
@Injectable()
export class AgentsService {
  constructor(
    private readonly ds: DataSource,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(CONFIG) private readonly cfg: Config,
    private readonly machines: MachinesService,
    private readonly jobs: JobsService,
    private readonly events: EventStore,
    private readonly watcher: JobWatcher,
    private readonly keys: SigningKeysService,
  ) {}

  async heartbeat(m: MachinePrincipal, hb: MachineHeartbeat): Promise<HeartbeatResponse> {
    const row = await this.machines.heartbeat(m.machineId, hb);
    await this.failMissing(row.id, hb.running_job_ids ?? []);
    await this.markExpired(row.id, hb.expired_job_ids ?? []);
    return {
      v: PROTOCOL_VERSION,
      machine_id: row.id,
      heartbeat_interval_secs: this.machines.offlineAfterSecs / 3,
      offline_after_secs: this.machines.offlineAfterSecs,
      server_time: iso(this.clock.now()),
      cancel_job_ids: await this.jobs.takeCancellations(row.id),
    };
  }

  /**
   * Jobs we think run here but the machine does not list (e.g. it restarted). A job claimed moments ago may not
   * be in the list yet, so only jobs assigned more than one heartbeat interval ago count.
   */
  private async failMissing(machineId: string, running: string[]): Promise<void> {
    const cutoff = this.clock.now() - (this.machines.offlineAfterSecs / 3) * 1000;
    const mine = await this.jobs.repo.find({
      where: { machineId, state: In(['assigned', 'running']), assignedAt: LessThan(cutoff) },
      select: { id: true, state: true },
    });
    for (const j of mine)
      if (!running.includes(j.id))
        await this.jobs.failLost(j, 'The build machine no longer runs this job (it may have restarted).');
  }

  /** The machine deleted these jobs' results (retention): status and history say so from now on. */
  private async markExpired(machineId: string, ids: string[]): Promise<void> {
    if (!ids.length) return;
    await this.jobs.repo.update(
      { id: In(ids), machineId, resultsExpiredAt: IsNull() },
      { resultsExpiredAt: this.clock.now() },
    );
  }

  async info(m: MachinePrincipal): Promise<MachineInfo> {
    const row = (await this.machines.all()).find((r) => r.id === m.machineId) ?? (await this.machines.get(m.machineId));
    if (!row) throw new AppError(401, 'unauthenticated', 'This machine was removed.');
    if (!row.capacity)
      throw new AppError(
        409,
        'not_registered',
        'Register first: POST /agents/register with your capacity and versions.',
      );
    return { ...this.machines.info(row), online: true };
  }

  /**
   * The long-poll. `free` (the machine's free slots as it polls) beats the last heartbeat's count, so a slot
   * that just freed is filled now rather than at the next heartbeat.
   */
  async poll(m: MachinePrincipal, waitSecs: number, signal: AbortSignal, free?: number): Promise<AgentJobOffer[]> {
    let info = await this.info(m);
    if (free !== undefined && info.capacity)
      info = { ...info, capacity: { ...info.capacity, free_slots: Math.min(free, info.capacity.total_slots) } };
    let jobs = await this.watcher.available(info);
    if (!jobs.length && waitSecs > 0) jobs = await this.watcher.wait(info, waitSecs * 1000, signal);
    return Promise.all(jobs.map((j) => this.offerOf(j)));
  }

  private async offerOf(j: JobRow): Promise<AgentJobOffer> {
    const cands = await this.events.machineCandidates(j.id, 0);
    return {
      job_id: j.id,
      grant: j.grantJws,
      offer: j.offer!,
      candidates: cands.map((c) => c.payload as unknown as CandidateBody),
    };
  }

  /**
   * Exactly one machine wins: a conditional UPDATE on state='pending'. The grant is signed again here, valid
   * from now for its TTL, so however long the job queued, the machine gets a fresh short-lived grant.
   */
  async claim(m: MachinePrincipal, jobId: string): Promise<ClaimResponse> {
    const now = this.clock.now();
    const before = await this.jobs.get(jobId);
    if (!before) throw notFound('Job');
    const grantJws = await this.renewGrant(before.grantJws, now);
    if (!(await this.takeJob(before, m.machineId, now, grantJws))) {
      const job = await this.jobs.get(jobId);
      if (!job) throw notFound('Job');
      if (job.state === 'pending' && job.kind === 'build')
        throw new AppError(
          409,
          'user_at_limit',
          `The job's owner already runs ${this.cfg.userMaxConcurrentJobs} builds (USER_MAX_CONCURRENT_JOBS); it waits its turn in the queue.`,
        );
      if (job.machineId === m.machineId && job.state === 'assigned')
        throw new AppError(409, 'already_claimed', 'You already claimed this job.');
      throw new AppError(
        409,
        'already_claimed',
        `The job is ${job.state}${job.machineId ? ' on another machine' : ''}; it cannot be claimed.`,
      );
    }
    // The row as the winning UPDATE left it (no re-read: this claim is on the hot path of every queued job).
    const job: JobRow = Object.assign(before, {
      state: 'assigned' as const,
      machineId: m.machineId,
      assignedAt: now,
      grantJws,
    });
    const machine =
      (await this.machines.all()).find((x) => x.id === m.machineId) ?? (await this.machines.get(m.machineId));
    const [offer] = await Promise.all([
      this.offerOf(job),
      this.jobs.announce(job, [
        {
          type: 'assigned',
          payload: {
            machine_id: m.machineId,
            machine_name: machine?.name ?? m.name,
            ...(machine?.bundlePublicJwk ? { bundle_public_jwk: machine.bundlePublicJwk } : {}),
          },
        },
      ]),
    ]);
    return { v: PROTOCOL_VERSION, ...offer };
  }

  /**
   * The claim's conditional UPDATE: still pending, offered, not expired, pinned here if pinned, and — for a build —
   * its owner below the running limit (USER_MAX_CONCURRENT_JOBS), so a user never runs more builds than that
   * whichever instance or machine claims. PostgreSQL: under the owner's advisory lock, as the grant step, so two
   * concurrent claims of one user's jobs cannot both pass the count; SQLite runs it as one write in one process.
   */
  private async takeJob(job: JobRow, machineId: string, now: number, grantJws: string): Promise<boolean> {
    const cond =
      `state = 'pending' AND offered_at IS NOT NULL AND expires_at > :now AND (pinned_machine_id IS NULL OR pinned_machine_id = :m)` +
      ` AND (kind <> 'build' OR (SELECT COUNT(*) FROM jobs r WHERE r.user_id = jobs.user_id AND r.kind = 'build' AND r.state IN ('assigned','running')) < :max)`;
    const args = { id: job.id, now, m: machineId, max: this.cfg.userMaxConcurrentJobs };
    if (this.ds.options.type === 'postgres' && job.kind === 'build') {
      const sql =
        `UPDATE jobs SET state = 'assigned', machine_id = $2, assigned_at = $3, grant_jws = $5 WHERE id = $1 AND ` +
        cond.replace(':now', '$3').replace(':m', '$2').replace(':max', '$4');
      return withUserLock(this.ds, 'claim', job.userId, async (c) => {
        const res = await c.query({
          name: 'aegis_claim_build',
          text: sql,
          values: [job.id, machineId, now, args.max, grantJws],
        });
        return (res.rowCount ?? 0) > 0;
      });
    }
    const r = await this.ds
      .createQueryBuilder()
      .update(JobRow)
      .set({ state: 'assigned', machineId, assignedAt: now, grantJws })
      .where(`id = :id AND ${cond}`, args)
      .updateEntity(false)
      .execute();
    return !!r.affected;
  }

  /** The same claims with a new id, issued now and expiring after the same TTL, signed with the current key. */
  private async renewGrant(jws: string, now: number): Promise<string> {
    const claims = JSON.parse(Buffer.from(jws.split('.')[1] ?? '', 'base64url').toString('utf8')) as GrantClaims;
    const ttl = claims.exp - claims.iat;
    const iat = Math.floor(now / 1000);
    const signer = await this.keys.signer();
    return signCompactEdDsa(
      { kid: signer.kid, typ: GRANT_JWS_TYP },
      { ...claims, iat, exp: iat + ttl, jti: randomUUID() },
      signer.key,
    );
  }

  private async mine(m: MachinePrincipal, jobId: string): Promise<JobRow> {
    const job = await this.jobs.get(jobId);
    if (!job || job.machineId !== m.machineId) throw notFound('Job');
    return job;
  }

  async answer(m: MachinePrincipal, jobId: string, sdp: string): Promise<void> {
    const job = await this.mine(m, jobId);
    if (job.state !== 'assigned' && job.state !== 'running')
      throw new AppError(409, 'job_not_active', `The job is ${job.state}; an answer is no longer useful.`);
    await this.events.add(jobId, 'client', 'answer', { sdp });
  }

  async candidate(m: MachinePrincipal, jobId: string, c: CandidateBody): Promise<void> {
    const job = await this.mine(m, jobId);
    if (!['assigned', 'running'].includes(job.state))
      throw new AppError(409, 'job_not_active', `The job is ${job.state}; candidates are no longer useful.`);
    await this.events.add(jobId, 'client', 'candidate', { candidate: c });
  }

  async clientCandidates(m: MachinePrincipal, jobId: string, after: number) {
    const job = await this.mine(m, jobId);
    // The machine asks for candidates until the client connects: the moment to tell it the client is gone.
    if (
      job.state === 'canceled' ||
      (job.state === 'assigned' &&
        job.clientLeftAt !== null &&
        this.clock.now() - job.clientLeftAt >= this.cfg.clientGoneGraceSecs * 1000)
    )
      throw new AppError(
        410,
        'client_left',
        'The client of this job has gone (its signaling stream closed and did not come back); give up the job.',
      );
    const rows = await this.events.machineCandidates(jobId, after);
    return {
      v: PROTOCOL_VERSION,
      candidates: rows.map((r) => ({ seq: r.seq, candidate: r.payload as unknown as CandidateBody })),
    };
  }

  async report(m: MachinePrincipal, jobId: string, rep: AgentStateReport): Promise<JobRow> {
    const job = await this.mine(m, jobId);
    // The owner canceled meanwhile: the machine's final word changes nothing and is not an error.
    if (job.state === 'canceled' && rep.state !== 'running' && rep.state !== 'assigned') return job;
    if (!JOB_TRANSITIONS[job.state].includes(rep.state))
      throw new AppError(409, 'illegal_transition', `A ${job.state} job cannot become ${rep.state}.`);
    const done = await this.jobs.transition(jobId, job.state, rep.state, {
      ...(rep.exit_code !== undefined ? { exitCode: rep.exit_code } : {}),
      ...(rep.error ? { error: rep.error } : {}),
      ...(rep.sizes ? { sizes: rep.sizes } : {}),
    });
    if (!done) throw new AppError(409, 'conflict', 'The job changed meanwhile; read it and report again.');
    return done;
  }
}
