import { Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { JobListQuery, PROTOCOL_VERSION } from '@aegis/protocol';
import type { z } from 'zod';
import { Auth, CurrentUser } from '../auth/guards.js';
import type { UserPrincipal } from '../auth/principal.js';
import { uuidParam, query } from '../http/zod-pipe.js';
import { jobView } from '../views.js';
import { JobsService } from './jobs.service.js';
import { JobQueue } from '../scheduling/job-queue.js';
import { Doc } from '../http/doc.js';

@Controller('jobs')
@Auth('user')
export class JobsController {
  constructor(
    private readonly jobs: JobsService,
    private readonly queue: JobQueue,
  ) {}

  @Get()
  @Doc({ res: 'JobListResponse' })
  async list(@CurrentUser() u: UserPrincipal, @Query(query(JobListQuery)) q: z.output<typeof JobListQuery>) {
    const { rows, next } = await this.jobs.list(u.userId, q.limit, q.cursor, q.state);
    const places = rows.some((r) => r.state === 'pending') ? await this.queue.positions() : new Map();
    return { v: PROTOCOL_VERSION, jobs: rows.map((r) => jobView(r, places.get(r.id))), next_cursor: next };
  }

  @Get(':id')
  @Doc({
    res: 'JobView',
    summary:
      'The job. While it waits: queue {position, ahead (jobs that start first on the machines able to build it, ' +
      'round-robin across users), estimate_secs (from the median build time of its (IDF version, target)), ' +
      'capable_slots, median_build_secs}; results_expired_at once the machine deleted its results.',
  })
  async get(@CurrentUser() u: UserPrincipal, @Param('id', uuidParam) id: string) {
    const job = await this.jobs.getVisible(id, u);
    return jobView(job, await this.queue.infoOf(job));
  }

  @Post(':id/cancel')
  @HttpCode(200)
  @Doc({ res: 'JobView', summary: 'Cancel the job (a queued one leaves the queue at once; a running one is stopped)' })
  async cancel(@CurrentUser() u: UserPrincipal, @Param('id', uuidParam) id: string) {
    return jobView(await this.jobs.cancel(id, u));
  }
}
