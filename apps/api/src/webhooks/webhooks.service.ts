import { randomBytes, randomUUID } from 'node:crypto';
import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { DataSource, IsNull, LessThanOrEqual } from 'typeorm';
import { PROTOCOL_VERSION, type WebhookPayload } from '@aegis/protocol';
import { JobRow, WebhookDeliveryRow, WebhookRow } from '../db/entities.js';
import { CLOCK, iso, type Clock } from '../clock.js';
import { LOGGER, type Logger } from '../logger.js';
import { notFound } from '../errors.js';
import { JobsService } from '../jobs/jobs.service.js';
import { jobView } from '../views.js';
import { backoffMs, MAX_ATTEMPTS, sign } from './signature.js';
import { assertPublicUrl } from './private-address.js';
import { CONFIG, type Config } from '../config.js';

export type Post = (url: string, body: string, headers: Record<string, string>) => Promise<number>;

const httpPost: Post = async (url, body, headers) => {
  const res = await fetch(url, {
    method: 'POST',
    body,
    headers,
    signal: AbortSignal.timeout(10_000),
    redirect: 'manual',
  });
  await res.arrayBuffer().catch(() => undefined);
  return res.status;
};

/**
 * Subscriptions and deliveries. A job state change stores one delivery per matching subscription; a worker on
 * every instance sends due deliveries, each claimed first with a conditional UPDATE of `locked_until`.
 */
@Injectable()
export class WebhooksService implements OnModuleDestroy {
  private timer: NodeJS.Timeout | undefined;
  post: Post = httpPost;

  constructor(
    private readonly ds: DataSource,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(LOGGER) private readonly log: Logger,
    @Inject(CONFIG) private readonly cfg: Config,
    jobs: JobsService,
  ) {
    jobs.onChange((job) => this.enqueue(job));
  }

  async create(userId: string, url: string, events: string[]): Promise<{ hook: WebhookRow; secret: string }> {
    const secret = 'whsec_' + randomBytes(24).toString('base64url');
    const hook = Object.assign(new WebhookRow(), {
      id: randomUUID(),
      userId,
      url,
      events,
      secret,
      createdAt: this.clock.now(),
      deletedAt: null,
    });
    await this.ds.getRepository(WebhookRow).insert(hook);
    return { hook, secret };
  }

  list(userId: string): Promise<WebhookRow[]> {
    return this.ds
      .getRepository(WebhookRow)
      .find({ where: { userId, deletedAt: IsNull() }, order: { createdAt: 'ASC' } });
  }

  async owned(userId: string, id: string): Promise<WebhookRow> {
    const w = await this.ds.getRepository(WebhookRow).findOneBy({ id, userId, deletedAt: IsNull() });
    if (!w) throw notFound('Webhook');
    return w;
  }

  async remove(userId: string, id: string): Promise<void> {
    await this.owned(userId, id);
    await this.ds.getRepository(WebhookRow).update({ id }, { deletedAt: this.clock.now() });
  }

  deliveries(webhookId: string): Promise<WebhookDeliveryRow[]> {
    return this.ds
      .getRepository(WebhookDeliveryRow)
      .find({ where: { webhookId }, order: { createdAt: 'DESC' }, take: 100 });
  }

  private async enqueue(job: JobRow): Promise<void> {
    const hooks = await this.list(job.userId);
    const now = this.clock.now();
    for (const h of hooks.filter((x) => x.events.includes('job.state'))) {
      const id = randomUUID();
      const payload: WebhookPayload = {
        v: PROTOCOL_VERSION,
        id,
        event: 'job.state',
        created_at: iso(now),
        job: jobView(job),
      };
      await this.ds.getRepository(WebhookDeliveryRow).insert(
        Object.assign(new WebhookDeliveryRow(), {
          id,
          webhookId: h.id,
          event: 'job.state',
          jobId: job.id,
          payload: JSON.stringify(payload),
          status: 'pending',
          attempts: 0,
          lastStatusCode: null,
          lastError: null,
          nextAttemptAt: now,
          lockedUntil: null,
          createdAt: now,
          deliveredAt: null,
        }),
      );
    }
    if (hooks.length) setImmediate(() => void this.runDue().catch(() => undefined));
  }

  start(everyMs = 1000): void {
    const loop = () => {
      this.timer = setTimeout(() => {
        void this.runDue()
          .catch((e: Error) => this.log.warn({ err: e.message }, 'webhook worker failed'))
          .finally(() => this.timer && loop());
      }, everyMs);
    };
    loop();
  }

  /** Send every due delivery this instance manages to lock. */
  async runDue(): Promise<number> {
    const now = this.clock.now();
    const due = await this.ds.getRepository(WebhookDeliveryRow).find({
      where: { status: 'pending', nextAttemptAt: LessThanOrEqual(now) },
      order: { nextAttemptAt: 'ASC' },
      take: 20,
    });
    let sent = 0;
    for (const d of due) {
      const lock = await this.ds
        .createQueryBuilder()
        .update(WebhookDeliveryRow)
        .set({ lockedUntil: now + 30_000 })
        .where(`id = :id AND status = 'pending' AND (locked_until IS NULL OR locked_until < :now)`, { id: d.id, now })
        .updateEntity(false)
        .execute();
      if (!lock.affected) continue;
      await this.attempt(d);
      sent++;
    }
    return sent;
  }

  private async attempt(d: WebhookDeliveryRow): Promise<void> {
    const hook = await this.ds.getRepository(WebhookRow).findOneBy({ id: d.webhookId });
    const repo = this.ds.getRepository(WebhookDeliveryRow);
    if (!hook || hook.deletedAt !== null) {
      await repo.update(
        { id: d.id },
        { status: 'failed', lastError: 'The webhook was deleted.', nextAttemptAt: null, lockedUntil: null },
      );
      return;
    }
    let status: number | null = null;
    let error: string | null = null;
    try {
      if (!this.cfg.webhookAllowPrivate) await assertPublicUrl(hook.url);
      status = await this.post(hook.url, d.payload, {
        'Content-Type': 'application/json',
        'User-Agent': 'aegis-webhooks/1',
        'X-Aegis-Event': d.event,
        'X-Aegis-Delivery': d.id,
        'X-Aegis-Signature': sign(hook.secret, d.payload),
      });
      if (status < 200 || status >= 300) error = `The receiver answered HTTP ${status}.`;
    } catch (e) {
      error = `Could not deliver: ${(e as Error).message}`;
    }
    const attempts = d.attempts + 1;
    const now = this.clock.now();
    if (!error) {
      await repo.update(
        { id: d.id },
        {
          status: 'succeeded',
          attempts,
          lastStatusCode: status,
          lastError: null,
          deliveredAt: now,
          nextAttemptAt: null,
          lockedUntil: null,
        },
      );
    } else if (attempts >= MAX_ATTEMPTS) {
      await repo.update(
        { id: d.id },
        {
          status: 'failed',
          attempts,
          lastStatusCode: status,
          lastError: error,
          nextAttemptAt: null,
          lockedUntil: null,
        },
      );
    } else {
      await repo.update(
        { id: d.id },
        {
          attempts,
          lastStatusCode: status,
          lastError: error,
          nextAttemptAt: now + backoffMs(attempts),
          lockedUntil: null,
        },
      );
    }
  }

  onModuleDestroy(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }
}
