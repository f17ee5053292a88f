import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { CONFIG, type Config } from '../config.js';
import { LOGGER, type Logger } from '../logger.js';
import { Metrics } from '../health/metrics.js';

export type Topic = 'jobs' | 'signal';

/**
 * Cross-instance wake-ups over PostgreSQL LISTEN/NOTIFY: an offer or a signaling row stored by one instance
 * wakes the watchers of all instances at once instead of at their next poll. One listening connection per
 * instance. Polling stays as the fallback (and is all there is on SQLite, which has one process anyway).
 */
@Injectable()
export class Notifier implements OnModuleDestroy {
  private client: pg.Client | undefined;
  private closed = false;
  private readonly handlers = new Map<Topic, Set<() => void>>();

  constructor(
    private readonly ds: DataSource,
    @Inject(CONFIG) private readonly cfg: Config,
    @Inject(LOGGER) private readonly log: Logger,
    private readonly metrics: Metrics,
  ) {}

  private get enabled(): boolean {
    return this.ds.options.type === 'postgres' && !!this.cfg.databaseUrl;
  }

  /** Channel names carry the schema so isolated schemas (tests) never wake each other. */
  private channel(t: Topic): string {
    return `aegis_${t}_${this.cfg.databaseSchema ?? 'public'}`;
  }

  on(t: Topic, fn: () => void): void {
    if (!this.handlers.has(t)) this.handlers.set(t, new Set());
    this.handlers.get(t)!.add(fn);
  }

  notify(t: Topic): void {
    if (!this.enabled) return;
    void this.ds.query('SELECT pg_notify($1, $2)', [this.channel(t), '']).catch((e: Error) => {
      this.log.debug({ err: e.message }, 'notify failed');
    });
  }

  async start(): Promise<void> {
    if (!this.enabled || this.closed) return;
    const client = new pg.Client({ connectionString: this.cfg.databaseUrl });
    client.on('notification', (m) => {
      const topic = (['jobs', 'signal'] as const).find((t) => this.channel(t) === m.channel);
      if (topic) this.metrics.wakeups.inc({ topic });
      if (topic) for (const fn of this.handlers.get(topic) ?? []) fn();
    });
    client.on('error', (e) => {
      this.log.warn({ err: e.message }, 'LISTEN connection lost; polling until it is back');
      this.client = undefined;
      void client.end().catch(() => undefined);
      if (!this.closed) setTimeout(() => void this.start().catch(() => undefined), 1000).unref();
    });
    await client.connect();
    for (const t of ['jobs', 'signal'] as const) await client.query(`LISTEN "${this.channel(t)}"`);
    this.client = client;
  }

  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    await this.client?.end().catch(() => undefined);
  }
}
