import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMachineToken, createUser } from '@aegis/testkit';
import { AgentPollResponse, GrantResponse, HeartbeatResponse, JobView } from '@aegis/protocol';
import { grantBody, heartbeat, OFFER, req, sse, world, type World } from './http.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function offered(w: World, key: string, over: Record<string, unknown> = {}): Promise<string> {
  const g = await req(w.url, 'POST', '/grant/request', key, grantBody({ ttl_secs: 30, ...over }));
  if (g.status !== 201) throw new Error(JSON.stringify(g.body));
  const id = GrantResponse.parse(g.body).job_id;
  const o = await req(w.url, 'POST', `/signaling/${id}/offer`, key, OFFER);
  if (o.status !== 202) throw new Error(JSON.stringify(o.body));
  return id;
}

async function waitFor<T>(fn: () => Promise<T>, ok: (v: T) => boolean, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > end) return v;
    await sleep(200);
  }
}

for (const db of ['sqlite', 'postgres'] as const) {
  describe(`scheduling and grant rules over HTTP (${db})`, () => {
    let w: World;
    beforeAll(async () => {
      w = await world(db, { USER_MAX_CONCURRENT_JOBS: '50', PENDING_GRACE_SECS: '0' });
    });
    afterAll(async () => {
      await w?.api.stop();
    });

    it('refuses unknown channels and answers 503 naming why no machine fits', async () => {
      const bad = await req(
        w.url,
        'POST',
        '/grant/request',
        w.user,
        grantBody({ required_channels: ['espctl', 'ssh'] }),
      );
      expect(bad.status).toBe(400);
      expect(bad.body).toMatchObject({ code: 'invalid_input', message: expect.stringMatching(/required_channels/) });
      const idf = await req(w.url, 'POST', '/grant/request', w.user, grantBody({ idf_version: '9.9' }));
      expect(idf.status).toBe(503);
      expect(idf.body).toMatchObject({ code: 'no_machine', message: expect.stringMatching(/ESP-IDF 9.9/) });
      const tgt = await req(w.url, 'POST', '/grant/request', w.user, grantBody({ target: 'esp32p4' }));
      expect(tgt.body).toMatchObject({ code: 'no_machine', message: expect.stringMatching(/esp32p4/) });
      const big = await req(w.url, 'POST', '/grant/request', w.user, grantBody({ cpu_cores: 64 }));
      expect(big.body).toMatchObject({ code: 'no_machine', message: expect.stringMatching(/64 CPU cores/) });
    });

    it('lets exactly one of several racing machines claim a job', async () => {
      const others = await Promise.all(
        [2, 3, 4].map(async (i) => {
          const m = await createMachineToken(w.url, w.admin, `race-${i}`);
          await req(w.url, 'POST', '/agents/register', m.token, heartbeat({ name: `race-${i}` }));
          return m;
        }),
      );
      const id = await offered(w, w.user);
      const results = await Promise.all(
        [w.machine, ...others].map((m) => req(w.url, 'POST', `/agents/jobs/${id}/claim`, m.token)),
      );
      expect(results.map((r) => r.status).sort()).toEqual([200, 409, 409, 409]);
      const winner = [w.machine, ...others][results.findIndex((r) => r.status === 200)]!;
      const job = JobView.parse((await req(w.url, 'GET', `/jobs/${id}`, w.user)).body);
      expect(job).toMatchObject({ state: 'assigned', machine_id: winner.machineId });
      // The losers cannot act on it.
      const loser = others.find((m) => m !== winner) ?? w.machine;
      expect((await req(w.url, 'POST', `/agents/jobs/${id}/state`, loser.token, { state: 'running' })).status).toBe(
        404,
      );
      await req(w.url, 'POST', `/agents/jobs/${id}/state`, winner.token, {
        state: 'failed',
        error: { code: 'x', message: 'test' },
      });
      for (const m of others) await req(w.url, 'DELETE', `/machines/${m.machineId}`, w.admin);
    });

    it('orders offered jobs fairly across users and by priority', async () => {
      // Only administrators may raise a job's priority (grant-rules.spec.ts), so `a` is one.
      const a = await createUser(w.url, w.admin, 'admin');
      const b = await createUser(w.url, w.admin);
      const a1 = await offered(w, a);
      const a2 = await offered(w, a);
      const a3 = await offered(w, a);
      const b1 = await offered(w, b);
      const urgent = await offered(w, a, { priority: 5 });
      await req(
        w.url,
        'POST',
        '/agents/heartbeat',
        w.machine.token,
        heartbeat({ capacity: { total_slots: 3, free_slots: 3, cpu_cores: 8, memory_mb: 16384 } }),
      );
      const poll = AgentPollResponse.parse((await req(w.url, 'GET', '/agents/jobs?wait=0', w.machine.token)).body);
      const mine = new Set([a1, a2, a3, b1, urgent]);
      expect(poll.jobs.map((j) => j.job_id).filter((id) => mine.has(id))).toEqual([urgent, a1, b1]);
      for (const id of mine) await req(w.url, 'POST', `/jobs/${id}/cancel`, id === b1 ? b : a);
      await req(w.url, 'POST', '/agents/heartbeat', w.machine.token, heartbeat());
    });

    it('expires a pending job nobody claims and tells the owner', async () => {
      const g = await req(w.url, 'POST', '/grant/request', w.user, grantBody({ ttl_secs: 1 }));
      const { job_id } = GrantResponse.parse(g.body);
      const stream = sse(`${w.url}/signaling/${job_id}/events`, w.user, (ev) => ev.some((e) => e.event === 'error'), {
        timeoutMs: 15_000,
      });
      const job = await waitFor(
        async () => JobView.parse((await req(w.url, 'GET', `/jobs/${job_id}`, w.user)).body),
        (j) => j.state !== 'pending',
      );
      expect(job).toMatchObject({ state: 'expired', error: { code: 'expired' } });
      const events = (await stream).events;
      expect(events.map((e) => e.event)).toEqual(['state', 'error']);
      expect((await req(w.url, 'POST', `/signaling/${job_id}/offer`, w.user, OFFER)).status).toBe(409);
      expect((await req(w.url, 'POST', `/agents/jobs/${job_id}/claim`, w.machine.token)).status).toBe(409);
    });

    it('pins an attach job to the machine of its parent, for the owner only', async () => {
      const parent = await offered(w, w.user);
      expect((await req(w.url, 'POST', `/agents/jobs/${parent}/claim`, w.machine.token)).status).toBe(200);
      await req(w.url, 'POST', `/agents/jobs/${parent}/state`, w.machine.token, { state: 'succeeded', exit_code: 0 });

      expect(
        (await req(w.url, 'POST', '/grant/request', w.other, grantBody({ attach_to_job_id: parent }))).status,
      ).toBe(404);
      const missing = await req(
        w.url,
        'POST',
        '/grant/request',
        w.user,
        grantBody({ attach_to_job_id: '00000000-0000-4000-8000-000000000000' }),
      );
      expect(missing.status).toBe(404);

      const m2 = await createMachineToken(w.url, w.admin, 'other-machine');
      await req(w.url, 'POST', '/agents/register', m2.token, heartbeat({ name: 'other-machine' }));
      const child = await offered(w, w.user, { attach_to_job_id: parent });
      const seen2 = AgentPollResponse.parse((await req(w.url, 'GET', '/agents/jobs?wait=0', m2.token)).body);
      expect(seen2.jobs.map((j) => j.job_id)).not.toContain(child);
      expect((await req(w.url, 'POST', `/agents/jobs/${child}/claim`, m2.token)).status).toBe(409);
      const seen1 = AgentPollResponse.parse((await req(w.url, 'GET', '/agents/jobs?wait=0', w.machine.token)).body);
      expect(seen1.jobs.map((j) => j.job_id)).toContain(child);
      expect((await req(w.url, 'POST', `/agents/jobs/${child}/claim`, w.machine.token)).status).toBe(200);
      const view = JobView.parse((await req(w.url, 'GET', `/jobs/${child}`, w.user)).body);
      expect(view).toMatchObject({ kind: 'attach', parent_job_id: parent, machine_id: w.machine.machineId });
      await req(w.url, 'POST', `/agents/jobs/${child}/state`, w.machine.token, { state: 'succeeded' });
      await req(w.url, 'DELETE', `/machines/${m2.machineId}`, w.admin);
    });

    it('cancels a running job and tells its machine on the next heartbeat', async () => {
      const id = await offered(w, w.user);
      await req(w.url, 'POST', `/agents/jobs/${id}/claim`, w.machine.token);
      await req(w.url, 'POST', `/agents/jobs/${id}/state`, w.machine.token, { state: 'running' });
      expect((await req(w.url, 'POST', `/jobs/${id}/cancel`, w.other)).status).toBe(404);
      const c = await req(w.url, 'POST', `/jobs/${id}/cancel`, w.user);
      expect(JobView.parse(c.body).state).toBe('canceled');
      const hb = HeartbeatResponse.parse(
        (await req(w.url, 'POST', '/agents/heartbeat', w.machine.token, heartbeat({ running_job_ids: [id] }))).body,
      );
      expect(hb.cancel_job_ids).toEqual([id]);
      const hb2 = HeartbeatResponse.parse(
        (await req(w.url, 'POST', '/agents/heartbeat', w.machine.token, heartbeat())).body,
      );
      expect(hb2.cancel_job_ids).toEqual([]);
      // The machine's final report after a cancel changes nothing and is not an error.
      const rep = await req(w.url, 'POST', `/agents/jobs/${id}/state`, w.machine.token, { state: 'canceled' });
      expect(rep.status).toBe(200);
      expect(JobView.parse(rep.body).state).toBe('canceled');
      expect((await req(w.url, 'POST', `/jobs/${id}/cancel`, w.user)).status).toBe(409);
    });

    it('answers a waiting long-poll with an empty list after the wait', async () => {
      const t0 = Date.now();
      const r = await req(w.url, 'GET', '/agents/jobs?wait=1', w.machine.token);
      expect(AgentPollResponse.parse(r.body).jobs).toEqual([]);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(900);
      expect((await req(w.url, 'GET', '/agents/jobs?wait=26', w.machine.token)).status).toBe(400);
    });
  });

  describe(`rate limit over HTTP (${db})`, () => {
    let w: World;
    beforeAll(async () => {
      w = await world(db, { GRANT_RATE_PER_MIN: '3' });
    });
    afterAll(async () => {
      await w?.api.stop();
    });

    it('rate-limits grant requests per user with Retry-After', async () => {
      const u = await createUser(w.url, w.admin);
      const codes = [];
      for (let i = 0; i < 4; i++)
        codes.push(await req(w.url, 'POST', '/grant/request', u, grantBody({ idf_version: '0.0' })));
      expect(codes.map((r) => r.status)).toEqual([503, 503, 503, 429]);
      expect(codes[3]!.body).toMatchObject({ code: 'rate_limited' });
      expect(Number(codes[3]!.headers.get('retry-after'))).toBeGreaterThan(0);
      // Another user is not affected.
      expect((await req(w.url, 'POST', '/grant/request', w.other, grantBody({ idf_version: '0.0' }))).status).toBe(503);
    });

    it('counts granted requests too, in the step that inserts the job', async () => {
      const u = await createUser(w.url, w.admin);
      const codes = [];
      for (let i = 0; i < 4; i++) codes.push(await req(w.url, 'POST', '/grant/request', u, grantBody()));
      expect(codes.map((r) => r.status)).toEqual([201, 201, 201, 429]);
      expect(codes[3]!.body).toMatchObject({ code: 'rate_limited' });
      const retry = Number(codes[3]!.headers.get('retry-after'));
      expect(retry).toBeGreaterThan(0);
      expect(retry).toBeLessThanOrEqual(20); // one request comes back every 60 s / 3
      // The refused request created no job.
      expect((await req<{ jobs: unknown[] }>(w.url, 'GET', '/jobs', u)).body.jobs).toHaveLength(3);
    });
  });

  describe(`quota and concurrency over HTTP (${db})`, () => {
    let w: World;
    beforeAll(async () => {
      w = await world(db, { USER_DAILY_JOBS: '3', USER_MAX_QUEUED_JOBS: '2', GRANT_RATE_PER_MIN: '1000' });
    });
    afterAll(async () => {
      await w?.api.stop();
    });

    it('limits jobs waiting in the queue, and jobs per day', async () => {
      const u = await createUser(w.url, w.admin);
      const a = await req(w.url, 'POST', '/grant/request', u, grantBody());
      const b = await req(w.url, 'POST', '/grant/request', u, grantBody());
      const c = await req(w.url, 'POST', '/grant/request', u, grantBody());
      expect([a.status, b.status, c.status]).toEqual([201, 201, 429]);
      expect(c.body).toMatchObject({ code: 'queue_full', message: expect.stringMatching(/cancel/) });
      // Jobs that left the queue free their place but still count against the daily quota.
      for (const r of [a, b]) await req(w.url, 'POST', `/jobs/${GrantResponse.parse(r.body).job_id}/cancel`, u);
      const d = await req(w.url, 'POST', '/grant/request', u, grantBody());
      const e = await req(w.url, 'POST', '/grant/request', u, grantBody());
      expect([d.status, e.status]).toEqual([201, 429]);
      expect(e.body).toMatchObject({ code: 'quota_exceeded' });
      expect(Number(e.headers.get('retry-after'))).toBeGreaterThan(0);
      expect(Number(e.headers.get('retry-after'))).toBeLessThanOrEqual(86_400);
      const jobs = (await req<{ jobs: unknown[] }>(w.url, 'GET', '/jobs', u)).body.jobs;
      expect(jobs).toHaveLength(3);
    });
  });
}
