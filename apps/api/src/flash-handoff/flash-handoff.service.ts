import { randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import {
  DASHBOARD_POLL_WINDOW_SECS,
  FLASH_REQUEST_TTL_SECS,
  type FlashRequest,
  type FlashRequestStatus,
} from '@aegis/protocol';
import type { FlashHandoff } from '@aegis/espctl';
import { CLOCK, iso, type Clock } from '../clock.js';
import { AppError, notFound } from '../errors.js';
import type { UserPrincipal } from '../auth/principal.js';
import { JobsService } from '../jobs/jobs.service.js';
import { FlashHandoffStore, type FlashRequestRow } from './flash-handoff.store.js';

export type FlashAction = 'confirm' | 'reject' | 'complete';

/** Legal moves: the dashboard confirms or rejects a pending request, and completes a confirmed one. */
const MOVES: Record<FlashAction, { from: FlashRequestStatus[]; to: FlashRequestStatus }> = {
  confirm: { from: ['pending'], to: 'confirmed' },
  reject: { from: ['pending', 'confirmed'], to: 'rejected' },
  complete: { from: ['confirmed'], to: 'done' },
};

const view = (r: FlashRequestRow): FlashRequest => ({
  id: r.id,
  job_id: r.job_id,
  status: r.status,
  created_at: iso(r.created_at),
});

@Injectable()
export class FlashHandoffService {
  private readonly store: FlashHandoffStore;

  constructor(
    ds: DataSource,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly jobs: JobsService,
  ) {
    this.store = new FlashHandoffStore(ds);
  }

  private async expire(userId: string): Promise<void> {
    const now = this.clock.now();
    await this.store.expirePending(userId, now - FLASH_REQUEST_TTL_SECS * 1000, now);
  }

  async create(user: UserPrincipal, jobId: string): Promise<FlashRequest> {
    const job = await this.jobs.getOwned(jobId, user);
    if (job.state !== 'succeeded') {
      throw new AppError(
        409,
        'job_not_succeeded',
        `Job ${jobId} is ${job.state}; only a successful build can be flashed.`,
      );
    }
    const now = this.clock.now();
    const row: FlashRequestRow = {
      id: randomUUID(),
      user_id: user.userId,
      job_id: jobId,
      status: 'pending',
      created_at: now,
      updated_at: now,
    };
    await this.store.insert(row);
    return view(row);
  }

  /** The dashboard's poll: also marks the user's dashboard as connected. */
  async list(user: UserPrincipal, status: FlashRequestStatus | undefined): Promise<FlashRequest[]> {
    await this.store.recordPoll(user.userId, this.clock.now());
    await this.expire(user.userId);
    return (await this.store.list(user.userId, status)).map(view);
  }

  async get(user: UserPrincipal, id: string): Promise<FlashRequest> {
    await this.expire(user.userId);
    const r = await this.store.get(user.userId, id);
    if (!r) throw notFound(`Flash request ${id}`);
    return view(r);
  }

  async act(user: UserPrincipal, id: string, action: FlashAction): Promise<FlashRequest> {
    await this.expire(user.userId);
    const cur = await this.store.get(user.userId, id);
    if (!cur) throw notFound(`Flash request ${id}`);
    const move = MOVES[action];
    if (!(await this.store.transition(user.userId, id, move.from, move.to, this.clock.now()))) {
      throw new AppError(
        409,
        'flash_request_state',
        `The flash request is ${cur.status}; it cannot be ${action === 'complete' ? 'completed' : action + 'ed'} now.`,
      );
    }
    return this.get(user, id);
  }

  async dashboardConnected(userId: string): Promise<boolean> {
    const t = await this.store.lastPoll(userId);
    return t !== undefined && this.clock.now() - t <= DASHBOARD_POLL_WINDOW_SECS * 1000;
  }

  /** The MCP tools' view, bound to one user. */
  forUser(user: UserPrincipal): FlashHandoff {
    return {
      dashboardConnected: () => this.dashboardConnected(user.userId),
      create: (jobId) => this.create(user, jobId),
      get: async (id) => {
        try {
          return await this.get(user, id);
        } catch {
          return undefined;
        }
      },
    };
  }
}
