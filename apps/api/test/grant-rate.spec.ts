import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDb } from './test-db.js';
import { rateIntervalMs, rateStep, rateUpsertSql } from '../src/grants/grant-rate.js';

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
