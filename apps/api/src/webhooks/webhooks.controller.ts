import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { CreateWebhookBody, PROTOCOL_VERSION } from '@aegis/protocol';
import type { z } from 'zod';
import { Auth, CurrentUser } from '../auth/guards.js';
import type { UserPrincipal } from '../auth/principal.js';
import { uuidParam, body } from '../http/zod-pipe.js';
import { deliveryView, webhookView } from '../views.js';
import { WebhooksService } from './webhooks.service.js';
import { Doc } from '../http/doc.js';

@Controller('webhooks')
@Auth('user')
export class WebhooksController {
  constructor(private readonly hooks: WebhooksService) {}

  @Get()
  @Doc({ res: 'WebhookListResponse' })
  async list(@CurrentUser() u: UserPrincipal) {
    return { v: PROTOCOL_VERSION, webhooks: (await this.hooks.list(u.userId)).map(webhookView) };
  }

  /** The signing secret is in this response only. */
  @Post()
  @HttpCode(201)
  @Doc({ body: 'CreateWebhookBody', res: 'CreateWebhookResponse', status: 201 })
  async create(@CurrentUser() u: UserPrincipal, @Body(body(CreateWebhookBody)) b: z.output<typeof CreateWebhookBody>) {
    const { hook, secret } = await this.hooks.create(u.userId, b.url, b.events);
    return { v: PROTOCOL_VERSION, webhook: webhookView(hook), secret };
  }

  @Delete(':id')
  @HttpCode(204)
  async remove(@CurrentUser() u: UserPrincipal, @Param('id', uuidParam) id: string) {
    await this.hooks.remove(u.userId, id);
  }

  @Get(':id/deliveries')
  @Doc({ res: 'WebhookDeliveryListResponse' })
  async deliveries(@CurrentUser() u: UserPrincipal, @Param('id', uuidParam) id: string) {
    await this.hooks.owned(u.userId, id);
    return { v: PROTOCOL_VERSION, deliveries: (await this.hooks.deliveries(id)).map(deliveryView) };
  }
}
