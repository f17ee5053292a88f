import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { CandidateBody, OfferBody } from '@aegis/protocol';
import { JobRow } from '../db/entities.js';
import { CLOCK, type Clock } from '../clock.js';
import { CONFIG, type Config } from '../config.js';
import { JobQueue } from '../scheduling/job-queue.js';
import { AppError } from '../errors.js';
import type { UserPrincipal } from '../auth/principal.js';
import { JobsService } from '../jobs/jobs.service.js';
import { JobWatcher } from '../scheduling/job-watcher.js';
import { EventStore } from './event-store.js';
import { Notifier } from '../db/notifier.js';

/** The client's half of signaling. */
@Injectable()
export class SignalingService {
  /** Signaling streams open on this instance, per job. */
  private readonly streams = new Map<string, number>();

  constructor(
    private readonly ds: DataSource,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(CONFIG) private readonly cfg: Config,
    private readonly jobs: JobsService,
    private readonly events: EventStore,
    private readonly watcher: JobWatcher,
    private readonly notifier: Notifier,
    private readonly queue: JobQueue,
  ) {}

  /**
   * The offer makes the job visible to machines — it joins the queue and may wait there up to the queue's
   * limit (its grant is signed again when a machine claims it); only once, only while pending.
   */
  async offer(user: UserPrincipal, jobId: string, offer: OfferBody): Promise<void> {
    const job = await this.jobs.getOwned(jobId, user);
    if (job.state !== 'pending')
      throw new AppError(409, 'job_not_pending', `The job is ${job.state}; request a new grant.`);
    const now = this.clock.now();
    const r = await this.ds
      .createQueryBuilder()
      .update(JobRow)
      .set({ offer, offeredAt: now, expiresAt: now + this.cfg.queueMaxWaitSecs * 1000 })
      .where(`id = :id AND state = 'pending' AND offered_at IS NULL`, { id: jobId })
      .updateEntity(false)
      .execute();
    if (!r.affected)
      throw new AppError(409, 'offer_exists', 'This job already has an offer; request a new grant to retry.');
    this.watcher.kick();
    this.notifier.notify('jobs');
    this.queue.changed();
  }

  /**
   * A client opened a signaling stream: it is here (again). Clears the mark a closed stream left, on whichever
   * instance, so a reconnect within the grace keeps the job's place.
   */
  async clientOpened(jobId: string): Promise<void> {
    this.streams.set(jobId, (this.streams.get(jobId) ?? 0) + 1);
    await this.ds
      .createQueryBuilder()
      .update(JobRow)
      .set({ clientLeftAt: null })
      .where('id = :id AND client_left_at IS NOT NULL', { id: jobId })
      .updateEntity(false)
      .execute();
  }

  /**
   * A client's signaling stream closed. When it was this instance's last one for a job not yet running, the job is
   * marked: if no stream comes back within QUEUE_CLIENT_GRACE_SECS, a queued job is canceled (the sweeper) and a
   * claimed one not yet connected is given up by its machine (its candidate poll is answered `client_left`).
   */
  async clientClosed(jobId: string): Promise<void> {
    const n = (this.streams.get(jobId) ?? 1) - 1;
    if (n > 0) {
      this.streams.set(jobId, n);
      return;
    }
    this.streams.delete(jobId);
    await this.ds
      .createQueryBuilder()
      .update(JobRow)
      .set({ clientLeftAt: this.clock.now() })
      .where(`id = :id AND state IN ('pending','assigned') AND client_left_at IS NULL`, { id: jobId })
      .updateEntity(false)
      .execute();
  }

  async candidate(user: UserPrincipal, jobId: string, c: CandidateBody): Promise<void> {
    const job = await this.jobs.getOwned(jobId, user);
    if (!['pending', 'assigned', 'running'].includes(job.state))
      throw new AppError(409, 'job_not_active', `The job is ${job.state}; candidates are no longer useful.`);
    await this.events.add(jobId, 'machine', 'candidate', c as unknown as Record<string, unknown>);
  }
}
