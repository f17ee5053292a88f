import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type StartedApi } from '@aegis/testkit';
import { reconnectDelayMs } from '../src/db/notifier.js';
import { PG_URL } from './http.js';

const until = async <T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> => {
  for (const end = Date.now() + timeoutMs; Date.now() < end;) {
    const v = await fn();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
};

/**
 * Attack/fault: a database outage longer than one reconnect attempt. The API's LISTEN connection must come back
 * by itself (with backoff) once PostgreSQL accepts connections again, and notifications must flow again.
 * The outage is made on a database of this test's own (ALLOW_CONNECTIONS false + pg_terminate_backend), so
 * other tests on the shared server are untouched.
 */
describe('the PostgreSQL LISTEN connection after a database outage', () => {
  const dbName = `aegis_outage_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_URL });
  let api: StartedApi;
  let url: string;

  beforeAll(async () => {
    await admin.connect();
    await admin.query(`CREATE DATABASE "${dbName}"`);
    const u = new URL(PG_URL);
    u.pathname = `/${dbName}`;
    url = u.toString();
    api = await startApi({ databaseUrl: url });
  });
  afterAll(async () => {
    await api?.stop().catch(() => undefined);
    await admin.query(`ALTER DATABASE "${dbName}" ALLOW_CONNECTIONS true`).catch(() => undefined);
    await admin.query(`DROP DATABASE IF EXISTS "${dbName}" WITH (FORCE)`);
    await admin.end();
  });

  const listener = async (): Promise<number | undefined> => {
    const r = await admin.query<{ pid: number }>(
      `SELECT pid FROM pg_stat_activity WHERE datname = $1 AND query LIKE 'LISTEN %'`,
      [dbName],
    );
    return r.rows[0]?.pid;
  };
  const wakeups = async (): Promise<number> => {
    const text = await fetch(`${api.url}/metrics`).then((r) => r.text());
    return Number(/aegis_listen_wakeups_total\{topic="jobs"\} (\d+)/.exec(text)?.[1] ?? 0);
  };
  const notifyJobs = async () => {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    await c.query(`SELECT pg_notify($1, '')`, [`aegis_jobs_${api.schema}`]);
    await c.end();
  };

  it('is re-established with backoff and notifications flow again', async () => {
    const first = await until('the listener', listener);
    // Notifications work before the outage.
    const before = await wakeups();
    await notifyJobs();
    await until('a wake-up', async () => (await wakeups()) > before);

    // The outage: no new connections, every existing one (the listener too) terminated.
    await admin.query(`ALTER DATABASE "${dbName}" ALLOW_CONNECTIONS false`);
    await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`, [dbName]);
    // Several reconnect attempts fail while it lasts (the API says so in its log).
    await until('two failed reconnects', async () =>
      api.output.filter((l) => l.includes('LISTEN reconnect failed')).length >= 2 ? true : undefined,
    );
    expect(await listener()).toBeUndefined();

    await admin.query(`ALTER DATABASE "${dbName}" ALLOW_CONNECTIONS true`);
    const second = await until('the listener to come back', listener);
    expect(second).not.toBe(first);
    const after = await wakeups();
    await notifyJobs();
    await until('a wake-up after the outage', async () => (await wakeups()) > after);
    const metrics = await fetch(`${api.url}/metrics`).then((r) => r.text());
    expect(metrics).toMatch(/aegis_listen_reconnects_total [1-9]/);
  });

  it('backs off exponentially up to 15 s, with jitter', () => {
    expect([0, 1, 2, 3].map((a) => reconnectDelayMs(a, 1))).toEqual([250, 500, 1000, 2000]);
    expect(reconnectDelayMs(20, 1)).toBe(15_000);
    expect(reconnectDelayMs(2, 0)).toBe(500);
  });
});
