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

  async candidate(user: UserPrincipal, jobId: string, c: CandidateBody): Promise<void> {
    const job = await this.jobs.getOwned(jobId, user);
    if (!['pending', 'assigned', 'running'].includes(job.state))
      throw new AppError(409, 'job_not_active', `The job is ${job.state}; candidates are no longer useful.`);
    await this.events.add(jobId, 'machine', 'candidate', c as unknown as Record<string, unknown>);
  }
}
