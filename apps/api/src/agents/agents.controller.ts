import { Body, Controller, Get, HttpCode, Param, Post, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import { z } from 'zod';
import {
  AgentPollQuery,
  AgentStateReport,
  AnswerBody,
  CandidateBody,
  MachineHeartbeat,
  PROTOCOL_VERSION,
} from '@aegis/protocol';
import { Auth, CurrentMachine } from '../auth/guards.js';
import type { MachinePrincipal } from '../auth/principal.js';
import { uuidParam, body, query } from '../http/zod-pipe.js';
import { jobView } from '../views.js';
import { Metrics } from '../health/metrics.js';
import { AgentsService } from './agents.service.js';
import { Doc } from '../http/doc.js';

const AfterQuery = z.object({ after: z.coerce.number().int().min(0).default(0) }).strict();

@Controller('agents')
@Auth('machine')
export class AgentsController {
  constructor(
    private readonly agents: AgentsService,
    private readonly metrics: Metrics,
  ) {}

  @Post('register')
  @HttpCode(200)
  @Doc({ body: 'MachineHeartbeat', res: 'HeartbeatResponse' })
  register(@CurrentMachine() m: MachinePrincipal, @Body(body(MachineHeartbeat)) hb: z.output<typeof MachineHeartbeat>) {
    return this.agents.heartbeat(m, hb);
  }

  @Post('heartbeat')
  @HttpCode(200)
  @Doc({ body: 'MachineHeartbeat', res: 'HeartbeatResponse' })
  heartbeat(
    @CurrentMachine() m: MachinePrincipal,
    @Body(body(MachineHeartbeat)) hb: z.output<typeof MachineHeartbeat>,
  ) {
    return this.agents.heartbeat(m, hb);
  }

  @Get('jobs')
  @Doc({ res: 'AgentPollResponse', summary: 'Long-poll (wait ≤ 25 s; free = free build slots now)' })
  async poll(
    @CurrentMachine() m: MachinePrincipal,
    @Query(query(AgentPollQuery)) q: z.output<typeof AgentPollQuery>,
    @Res({ passthrough: true }) res: Response,
  ) {
    const ac = new AbortController();
    const onClose = () => ac.abort();
    // The response closes early only when the machine went away (a normal answer removes the listener first).
    res.on('close', onClose);
    this.metrics.longPollsOpen.inc();
    try {
      return { v: PROTOCOL_VERSION, jobs: await this.agents.poll(m, q.wait, ac.signal, q.free) };
    } finally {
      this.metrics.longPollsOpen.dec();
      res.off('close', onClose);
    }
  }

  @Post('jobs/:id/claim')
  @HttpCode(200)
  @Doc({ res: 'ClaimResponse', summary: '409 already_claimed when another machine won' })
  claim(@CurrentMachine() m: MachinePrincipal, @Param('id', uuidParam) id: string) {
    return this.agents.claim(m, id);
  }

  @Post('jobs/:id/answer')
  @HttpCode(202)
  @Doc({ body: 'AnswerBody', status: 202 })
  async answer(
    @CurrentMachine() m: MachinePrincipal,
    @Param('id', uuidParam) id: string,
    @Body(body(AnswerBody)) b: AnswerBody,
  ) {
    await this.agents.answer(m, id, b.sdp);
    return { ok: true };
  }

  @Post('jobs/:id/candidate')
  @HttpCode(202)
  @Doc({ body: 'CandidateBody', status: 202 })
  async candidate(
    @CurrentMachine() m: MachinePrincipal,
    @Param('id', uuidParam) id: string,
    @Body(body(CandidateBody)) b: CandidateBody,
  ) {
    await this.agents.candidate(m, id, b);
    return { ok: true };
  }

  @Get('jobs/:id/candidates')
  @Doc({ res: 'AgentCandidatesResponse' })
  candidates(
    @CurrentMachine() m: MachinePrincipal,
    @Param('id', uuidParam) id: string,
    @Query(query(AfterQuery)) q: { after: number },
  ) {
    return this.agents.clientCandidates(m, id, q.after);
  }

  @Post('jobs/:id/state')
  @HttpCode(200)
  @Doc({ body: 'AgentStateReport', res: 'JobView' })
  async state(
    @CurrentMachine() m: MachinePrincipal,
    @Param('id', uuidParam) id: string,
    @Body(body(AgentStateReport)) b: AgentStateReport,
  ) {
    return jobView(await this.agents.report(m, id, b));
  }
}
