import { Body, Controller, Get, HttpCode, Param, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { CandidateBody, OfferBody, type SignalingEvent } from '@aegis/protocol';
import { Auth, CurrentUser } from '../auth/guards.js';
import type { UserPrincipal } from '../auth/principal.js';
import { uuidParam, body } from '../http/zod-pipe.js';
import { JobsService } from '../jobs/jobs.service.js';
import { Metrics } from '../health/metrics.js';
import { EventBus } from './event-bus.js';
import { SignalingService } from './signaling.service.js';
import { Doc } from '../http/doc.js';

const PING_MS = 15_000;

@Controller('signaling')
@Auth('user')
export class SignalingController {
  constructor(
    private readonly signaling: SignalingService,
    private readonly jobs: JobsService,
    private readonly bus: EventBus,
    private readonly metrics: Metrics,
  ) {}

  @Post(':jobId/offer')
  @HttpCode(202)
  @Doc({ body: 'OfferBody', status: 202, summary: 'Store the offer; the job becomes visible to machines' })
  async offer(
    @CurrentUser() u: UserPrincipal,
    @Param('jobId', uuidParam) id: string,
    @Body(body(OfferBody)) b: OfferBody,
  ) {
    await this.signaling.offer(u, id, b);
    return { ok: true };
  }

  @Post(':jobId/candidate')
  @HttpCode(202)
  @Doc({ body: 'CandidateBody', status: 202 })
  async candidate(
    @CurrentUser() u: UserPrincipal,
    @Param('jobId', uuidParam) id: string,
    @Body(body(CandidateBody)) b: CandidateBody,
  ) {
    await this.signaling.candidate(u, id, b);
    return { ok: true };
  }

  /** Server-Sent Events; resumes after `Last-Event-ID`. */
  @Get(':jobId/events')
  @Doc({
    res: 'SignalingEvent',
    summary:
      'text/event-stream of SignalingEvent (event: type, id: seq). While queued, `state` events carry the queue place ' +
      '(as in JobView). Keep it open until the job runs: a job whose client has no stream open for ' +
      'QUEUE_CLIENT_GRACE_SECS (5 s) is canceled while queued (client_left), or given up by its machine if claimed.',
  })
  async events(
    @CurrentUser() u: UserPrincipal,
    @Param('jobId', uuidParam) id: string,
    @Req() req: Request,
    @Res() res: Response,
  ) {
    await this.jobs.getOwned(id, u);
    const last = Number(req.headers['last-event-id'] ?? 0);
    res.writeHead(200, {
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-cache, no-transform',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.write('retry: 1000\n\n');
    const push = (e: SignalingEvent) => res.write(`event: ${e.type}\nid: ${e.seq}\ndata: ${JSON.stringify(e)}\n\n`);
    const unsubscribe = this.bus.subscribe({ jobId: id, cursor: Number.isInteger(last) && last > 0 ? last : 0, push });
    const ping = setInterval(() => res.write(': ping\n\n'), PING_MS);
    this.metrics.sseOpen.inc();
    // The open stream is how the API knows the client is still there (a queued job whose client left is canceled).
    const presence = this.signaling.clientOpened(id).catch(() => undefined);
    res.on('close', () => {
      clearInterval(ping);
      unsubscribe();
      this.metrics.sseOpen.dec();
      void presence.then(() => this.signaling.clientClosed(id)).catch(() => undefined);
    });
  }
}
