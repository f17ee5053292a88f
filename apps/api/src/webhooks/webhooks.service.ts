import { randomBytes, randomUUID } from 'node:crypto';
import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { DataSource, In, IsNull, LessThanOrEqual } from 'typeorm';
import { PROTOCOL_VERSION, type WebhookPayload } from '@aegis/protocol';
import { JobRow, WebhookDeliveryRow, WebhookRow } from '../db/entities.js';
import { CLOCK, iso, type Clock } from '../clock.js';
import { LOGGER, type Logger } from '../logger.js';
import { AppError, notFound } from '../errors.js';
import { JobsService } from '../jobs/jobs.service.js';
import { jobView } from '../views.js';
import { backoffMs, MAX_ATTEMPTS, sign } from './signature.js';
import { addressPolicy, type AddressPolicy } from './private-address.js';
import { deliver, DeliveryError } from './deliver.js';
import { withUserLock } from '../db/user-lock.js';
import { CONFIG, type Config } from '../config.js';

export type Post = (url: string, body: string, headers: Record<string, string>) => Promise<number>;

/** Endpoints (webhooks) being delivered to at once by one instance, in all and per user. */
const MAX_ENDPOINTS_IN_FLIGHT = 64;
const MAX_ENDPOINTS_PER_USER = 4;

/**
 * Subscriptions and deliveries. A job state change stores one delivery per matching subscription. Each
 * endpoint has its own queue on every instance: one delivery in flight per endpoint, each attempt bounded by
 * WEBHOOK_TIMEOUT_SECS, failures retried with exponential backoff. Endpoints are served concurrently (bounded
 * in all and per user), so a receiver that never answers holds up only its own queue. A delivery is claimed
 * with a conditional UPDATE of `locked_until` first, so instances never send one twice.
 */
@Injectable()
export class WebhooksService implements OnModuleDestroy {
  private timer: NodeJS.Timeout | undefined;
  private readonly stopping = new AbortController();
  /** Webhook id → its owner, for each endpoint with a delivery in flight here. */
  private readonly inFlight = new Map<string, string>();
  private readonly policy: AddressPolicy;
  post: Post;

  constructor(
    private readonly ds: DataSource,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(LOGGER) private readonly log: Logger,
    @Inject(CONFIG) private readonly cfg: Config,
    jobs: JobsService,
  ) {
    jobs.onChange((job) => this.enqueue(job));
    this.policy = addressPolicy(cfg.webhookAllowPrivate);
    this.post = (url, body, headers) =>
      deliver(url, body, headers, {
        policy: this.policy,
        timeoutMs: cfg.webhookTimeoutSecs * 1000,
        signal: this.stopping.signal,
      });
  }

  /** A new subscription, unless the user already has WEBHOOK_MAX_PER_USER (checked and inserted as one step). */
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
    const max = this.cfg.webhookMaxPerUser;
    const atCap = () =>
      new AppError(
        409,
        'webhook_limit',
        `You already have ${max} webhooks (the limit); delete one you no longer need first.`,
      );
    const values = [hook.id, userId, url, JSON.stringify(events), secret, hook.createdAt, max];
    if (this.ds.options.type === 'postgres') {
      // One advisory lock per user across instances, so concurrent creates cannot all pass the count.
      const inserted = await withUserLock(this.ds, 'webhook', userId, async (c) => {
        const r = await c.query(
          insertUnderCap('$1::text', '$2::text', '$3::text', '$4::text', '$5::text', '$6::bigint', '$7::integer'),
          values,
        );
        return r.rowCount ?? 0;
      });
      if (!inserted) throw atCap();
    } else {
      // SQLite: one process, one statement; the count and the insert cannot interleave with another request.
      const [id, uid, u, ev, sec, at] = values;
      const r: unknown = await this.ds.query(insertUnderCap(...Array<string>(7).fill('?')), [
        ...[id, uid, u, ev, sec, at],
        uid, // the count's user (positional: the user id appears twice)
        max,
      ]);
      const changes = (r as { changes?: number } | undefined)?.changes;
      if (changes === 0 || (changes === undefined && !(await this.exists(hook.id)))) throw atCap();
    }
    return { hook, secret };
  }

  private async exists(id: string): Promise<boolean> {
    return !!(await this.ds.getRepository(WebhookRow).findOneBy({ id }));
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

  /**
   * Start a queue for every endpoint with a due delivery that none is running for here (within the bounds).
   * Returns how many queues it started; they run on by themselves.
   */
  async runDue(): Promise<number> {
    if (this.stopping.signal.aborted) return 0;
    const now = this.clock.now();
    const due = await this.ds.getRepository(WebhookDeliveryRow).find({
      where: { status: 'pending', nextAttemptAt: LessThanOrEqual(now) },
      order: { nextAttemptAt: 'ASC' },
      take: 200,
    });
    const heads = new Map<string, WebhookDeliveryRow>();
    for (const d of due) if (!this.inFlight.has(d.webhookId) && !heads.has(d.webhookId)) heads.set(d.webhookId, d);
    if (!heads.size) return 0;
    const hooks = await this.ds.getRepository(WebhookRow).findBy({ id: In([...heads.keys()]) });
    const owner = new Map(hooks.map((h) => [h.id, h.userId]));
    let started = 0;
    for (const [hookId, d] of heads) {
      if (this.inFlight.size >= MAX_ENDPOINTS_IN_FLIGHT) break;
      const userId = owner.get(hookId) ?? '';
      if ([...this.inFlight.values()].filter((u) => u === userId).length >= MAX_ENDPOINTS_PER_USER) continue;
      if (!(await this.lock(d.id))) continue;
      this.inFlight.set(hookId, userId);
      started++;
      void this.drain(hookId, d)
        .catch((e: Error) => this.log.warn({ err: e.message }, 'webhook queue failed'))
        .finally(() => this.inFlight.delete(hookId));
    }
    return started;
  }

  /** Claim a delivery for one attempt (plus a margin), unless another instance has it. */
  private async lock(id: string): Promise<boolean> {
    const now = this.clock.now();
    const r = await this.ds
      .createQueryBuilder()
      .update(WebhookDeliveryRow)
      .set({ lockedUntil: now + this.cfg.webhookTimeoutSecs * 1000 + 30_000 })
      .where(`id = :id AND status = 'pending' AND (locked_until IS NULL OR locked_until < :now)`, { id, now })
      .updateEntity(false)
      .execute();
    return !!r.affected;
  }

  /** One endpoint's queue: its due deliveries, oldest first, one at a time. */
  private async drain(hookId: string, first: WebhookDeliveryRow): Promise<void> {
    let d: WebhookDeliveryRow | null = first;
    while (d && !this.stopping.signal.aborted) {
      await this.attempt(d);
      d = await this.ds.getRepository(WebhookDeliveryRow).findOne({
        where: { webhookId: hookId, status: 'pending', nextAttemptAt: LessThanOrEqual(this.clock.now()) },
        order: { nextAttemptAt: 'ASC' },
      });
      if (d && !(await this.lock(d.id))) d = null;
    }
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
      status = await this.post(hook.url, d.payload, {
        'Content-Type': 'application/json',
        'User-Agent': 'aegis-webhooks/1',
        'X-Aegis-Event': d.event,
        'X-Aegis-Delivery': d.id,
        'X-Aegis-Signature': sign(hook.secret, d.payload),
      });
      if (status < 200 || status >= 300) error = `The receiver answered HTTP ${status}.`;
    } catch (e) {
      // DeliveryError's fixed sentences only: never a socket error's detail (it would tell open from closed ports).
      error = e instanceof DeliveryError ? e.message : 'The delivery failed.';
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
    this.stopping.abort();
  }
}

/** INSERT … SELECT that adds the webhook only while the user has fewer than the cap (parameters in the given syntax). */
const insertUnderCap = (...p: string[]): string =>
  `INSERT INTO webhooks (id, user_id, url, events, secret, created_at, deleted_at)
   SELECT ${p[0]}, ${p[1]}, ${p[2]}, ${p[3]}, ${p[4]}, ${p[5]}, NULL
   WHERE (SELECT COUNT(*) FROM webhooks WHERE user_id = ${p[1]} AND deleted_at IS NULL) < ${p[6]}`;
