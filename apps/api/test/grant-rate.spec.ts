import 'reflect-metadata';
import { randomBytes, randomUUID } from 'node:crypto';
import pg from 'pg';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_TEST_DATABASE_URL } from '@aegis/testkit';
import { MIGRATIONS } from '../src/db/data-source.js';
import { rateIntervalMs, rateStep, rateUpsertSql } from '../src/grants/grant-rate.js';

async function openDb(kind: 'sqlite' | 'postgres'): Promise<{ ds: DataSource; drop: () => Promise<void> }> {
  if (kind === 'sqlite') {
    const ds = await new DataSource({
      type: 'better-sqlite3',
      database: ':memory:',
      migrations: MIGRATIONS,
    }).initialize();
    return { ds, drop: () => ds.destroy() };
  }
  const url = process.env.TEST_DATABASE_URL ?? DEFAULT_TEST_DATABASE_URL;
  const schema = `gr_${randomBytes(4).toString('hex')}`;
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  await c.query(`CREATE SCHEMA "${schema}"`);
  const ds = await new DataSource({
    type: 'postgres',
    url,
    schema,
    migrations: MIGRATIONS,
    extra: { options: `-c search_path=${schema}` },
  }).initialize();
  return {
    ds,
    drop: async () => {
      await ds.destroy();
      await c.query(`DROP SCHEMA "${schema}" CASCADE`);
      await c.end();
    },
  };
}

for (const kind of ['sqlite', 'postgres'] as const) {
  describe(`the grant rate step in SQL agrees with the rule (${kind})`, () => {
    let db: Awaited<ReturnType<typeof openDb>>;
    beforeAll(async () => {
      db = await openDb(kind);
      await db.ds.runMigrations({ transaction: 'all' });
    });
    afterAll(async () => db?.drop());

    for (const perMinute of [3, 7]) {
      it(`allows and refuses the same requests, and stores the same arrival time (${perMinute}/min)`, async () => {
        const { sql, args } = rateUpsertSql(kind === 'postgres');
        const user = randomUUID();
        let tat: number | undefined;
        let now = Date.parse('2026-11-25T10:00:00Z');
        // A burst, refusals, a partial refill, a long pause: arrivals at irregular gaps (ms).
        const gaps = [0, 0, 0, 0, 0, 0, 0, 0, 1000, 5000, 8571, 2, 20_000, 0, 0, 3_600_000, 0, 0, 0, 0, 0, 0, 0, 0];
        const seen: boolean[] = [];
        for (const gap of gaps) {
          now += gap;
          const expected = rateStep(tat, now, perMinute);
          const rows: unknown[] = await db.ds.query(sql, args(user, now, rateIntervalMs(perMinute)));
          expect(rows.length > 0).toBe(expected.wait === 0);
          seen.push(rows.length > 0);
          const [stored] = await db.ds.query(
            `SELECT tat FROM grant_rate WHERE user_id = ${kind === 'postgres' ? '$1' : '?'}`,
            [user],
          );
          expect(Number(stored.tat)).toBeCloseTo(expected.tat, 3);
          tat = expected.tat;
        }
        // Both outcomes happened (the sequence exercises the limit), and never more than the burst at once.
        expect(seen).toContain(true);
        expect(seen).toContain(false);
        expect(seen.slice(0, 8).filter(Boolean)).toHaveLength(perMinute);
      });
    }
  });
}
