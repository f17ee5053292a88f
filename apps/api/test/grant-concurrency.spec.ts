import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMachineToken, createUser, dropSchema, freshSchema, startApi, type StartedApi } from '@aegis/testkit';
import { grantBody, heartbeat, PG_URL, req } from './http.js';

/**
 * Attack: many simultaneous grant requests by one user, spread over two API instances on one database, must never
 * get more jobs waiting than USER_MAX_QUEUED_JOBS (PostgreSQL gave up to 12 of 4 before a per-user lock).
 */
const env = { USER_MAX_QUEUED_JOBS: '4', GRANT_RATE_PER_MIN: '100000' };

async function burst(urls: string[], user: string, n: number) {
  const all = await Promise.all(
    Array.from({ length: n }, (_, i) => req(urls[i % urls.length]!, 'POST', '/grant/request', user, grantBody())),
  );
  return all.map((r) => ({ status: r.status, code: (r.body as { code?: string }).code }));
}

async function setup(api: StartedApi) {
  const m = await createMachineToken(api.url, api.adminKey, 'burst');
  const reg = await req(api.url, 'POST', '/agents/register', m.token, heartbeat({ name: 'burst' }));
  expect(reg.status).toBe(200);
}

describe('the per-user queue cap holds under concurrency, two instances on one PostgreSQL', () => {
  let a: StartedApi;
  let b: StartedApi;
  const schema = freshSchema();
  beforeAll(async () => {
    a = await startApi({ databaseUrl: PG_URL, schema, env });
    b = await startApi({ databaseUrl: PG_URL, schema, adminKey: a.adminKey, env });
    await setup(a);
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await dropSchema(PG_URL, schema);
  });

  for (let round = 1; round <= 3; round++) {
    it(`50 simultaneous grant requests give exactly 4 grants (round ${round})`, async () => {
      const user = await createUser(a.url, a.adminKey);
      const res = await burst([a.url, b.url], user, 50);
      expect(res.filter((r) => r.status === 201)).toHaveLength(4);
      expect(res.filter((r) => r.status !== 201).every((r) => r.status === 429 && r.code === 'queue_full')).toBe(true);
      // The database agrees: four jobs waiting.
      const jobs = await req<{ jobs: unknown[] }>(a.url, 'GET', '/jobs?limit=100', user);
      expect(jobs.body.jobs).toHaveLength(4);
    });
  }
});

describe('the per-user queue cap holds under concurrency on SQLite', () => {
  let api: StartedApi;
  beforeAll(async () => {
    api = await startApi({ env });
    await setup(api);
  });
  afterAll(async () => api?.stop());

  it('50 simultaneous grant requests give exactly 4 grants', async () => {
    const user = await createUser(api.url, api.adminKey);
    const res = await burst([api.url], user, 50);
    expect(res.filter((r) => r.status === 201)).toHaveLength(4);
    expect(res.filter((r) => r.status === 429)).toHaveLength(46);
  });
});
