import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { CreateFlashRequest, FlashRequestQuery } from '@aegis/protocol';
import type { z } from 'zod';
import { Auth, CurrentUser } from '../auth/guards.js';
import type { UserPrincipal } from '../auth/principal.js';
import { body, query, uuidParam } from '../http/zod-pipe.js';
import { FlashHandoffService } from './flash-handoff.service.js';

/** The dashboard side of the flash hand-off (metadata only; the dashboard fetches firmware over WebRTC). */
@Controller('flash-requests')
@Auth('user')
export class FlashHandoffController {
  constructor(private readonly handoff: FlashHandoffService) {}

  @Post()
  async create(@CurrentUser() u: UserPrincipal, @Body(body(CreateFlashRequest)) b: z.infer<typeof CreateFlashRequest>) {
    return this.handoff.create(u, b.job_id);
  }

  @Get()
  async list(@CurrentUser() u: UserPrincipal, @Query(query(FlashRequestQuery)) q: z.infer<typeof FlashRequestQuery>) {
    return { requests: await this.handoff.list(u, q.status) };
  }

  @Get(':id')
  async get(@CurrentUser() u: UserPrincipal, @Param('id', uuidParam) id: string) {
    return this.handoff.get(u, id);
  }

  @Post(':id/confirm')
  @HttpCode(200)
  async confirm(@CurrentUser() u: UserPrincipal, @Param('id', uuidParam) id: string) {
    return this.handoff.act(u, id, 'confirm');
  }

  @Post(':id/reject')
  @HttpCode(200)
  async reject(@CurrentUser() u: UserPrincipal, @Param('id', uuidParam) id: string) {
    return this.handoff.act(u, id, 'reject');
  }

  @Post(':id/complete')
  @HttpCode(200)
  async complete(@CurrentUser() u: UserPrincipal, @Param('id', uuidParam) id: string) {
    return this.handoff.act(u, id, 'complete');
  }
}
