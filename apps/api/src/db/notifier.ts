import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { CONFIG, type Config } from '../config.js';
import { LOGGER, type Logger } from '../logger.js';
import { Metrics } from '../health/metrics.js';

export type Topic = 'jobs' | 'signal';
const TOPICS: Topic[] = ['jobs', 'signal'];

/** Reconnect delays: 250 ms doubling to 15 s, each with up to 50 % jitter so instances do not stampede. */
export const reconnectDelayMs = (attempt: number, rand: number = Math.random()): number =>
  Math.round(Math.min(15_000, 250 * 2 ** attempt) * (0.5 + rand / 2));

/**
 * Cross-instance wake-ups over PostgreSQL LISTEN/NOTIFY: an offer or a signaling row stored by one instance
 * wakes the watchers of all instances at once instead of at their next poll. One listening connection per
 * instance, re-established with backoff for as long as it takes after the database went away (polling covers
 * the gap, and every topic is woken once on reconnect for what was missed). On SQLite polling is all there is.
 */
@Injectable()
export class Notifier implements OnModuleDestroy {
  private client: pg.Client | undefined;
  private closed = false;
  private attempt = 0;
  private retry: NodeJS.Timeout | undefined;
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

  /** The listening connection's application_name (operators and tests find it in pg_stat_activity). */
  get applicationName(): string {
    return `aegis-listen ${this.cfg.databaseSchema ?? 'public'}`.slice(0, 63);
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

  private wake(t: Topic): void {
    for (const fn of this.handlers.get(t) ?? []) fn();
  }

  /** Listen now; when the database is not there, keep trying in the background. */
  async start(): Promise<void> {
    if (!this.enabled || this.closed) return;
    try {
      await this.connect();
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'LISTEN connection failed; polling until it is back');
      this.scheduleReconnect();
    }
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.cfg.databaseUrl, application_name: this.applicationName });
    let lost = false;
    const onLost = (e?: Error) => {
      if (lost) return;
      lost = true;
      if (this.client === client) {
        this.client = undefined;
        this.log.warn({ err: e?.message ?? 'connection ended' }, 'LISTEN connection lost; polling until it is back');
        this.scheduleReconnect();
      }
      void client.end().catch(() => undefined);
    };
    client.on('notification', (m) => {
      const topic = TOPICS.find((t) => this.channel(t) === m.channel);
      if (!topic) return;
      this.metrics.wakeups.inc({ topic });
      this.wake(topic);
    });
    client.on('error', onLost);
    client.on('end', () => onLost());
    try {
      await client.connect();
      for (const t of TOPICS) await client.query(`LISTEN "${this.channel(t)}"`);
    } catch (e) {
      lost = true;
      void client.end().catch(() => undefined);
      throw e;
    }
    if (lost || this.closed) {
      void client.end().catch(() => undefined);
      if (!this.closed) throw new Error('the LISTEN connection closed while it was being set up');
      return;
    }
    const reconnected = this.attempt > 0;
    this.client = client;
    this.attempt = 0;
    if (reconnected) {
      this.metrics.listenReconnects.inc();
      this.log.info('LISTEN connection re-established');
      // Notifications sent while we were away are gone: wake every watcher once so it looks for itself.
      for (const t of TOPICS) this.wake(t);
    }
  }

  private scheduleReconnect(): void {
    if (this.closed || this.retry) return;
    const delay = reconnectDelayMs(this.attempt++);
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.connect().catch((e: Error) => {
        this.log.warn({ err: e.message, attempt: this.attempt }, 'LISTEN reconnect failed; retrying');
        this.scheduleReconnect();
      });
    }, delay);
    this.retry.unref();
  }

  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    this.retry = undefined;
    const c = this.client;
    this.client = undefined;
    await c?.end().catch(() => undefined);
  }
}
