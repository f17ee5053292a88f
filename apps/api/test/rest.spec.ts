import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMachineToken } from '@aegis/testkit';
import {
  CreateUserResponse,
  GrantResponse,
  HealthResponse,
  JobListResponse,
  JobView,
  MachineListResponse,
  MeResponse,
} from '@aegis/protocol';
import { grantBody, heartbeat, OFFER, req, world, type World } from './http.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const db of ['sqlite', 'postgres'] as const) {
  describe(`REST (${db})`, () => {
    let w: World;
    beforeAll(async () => {
      w = await world(db, { ALLOWED_ORIGINS: 'http://dash.test,http://other.test', USER_MAX_CONCURRENT_JOBS: '20' });
    });
    afterAll(async () => {
      await w?.api.stop();
    });

    it('creates a user whose key works at once and is shown only once', async () => {
      const r = await req(w.url, 'POST', '/users', w.admin, { name: 'grace' });
      expect(r.status).toBe(201);
      const made = CreateUserResponse.parse(r.body);
      expect(made.secret).toMatch(/^aegis_u_/);
      const me = MeResponse.parse((await req(w.url, 'GET', '/me', made.secret)).body);
      expect(me.user).toMatchObject({ name: 'grace', role: 'user' });
      expect(JSON.stringify((await req(w.url, 'GET', '/users', w.admin)).body)).not.toContain(made.secret);
      expect((await req(w.url, 'POST', '/users', w.admin, { name: 'grace' })).status).toBe(409);
    });

    it('lists own jobs newest first, paginated', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        ids.push(GrantResponse.parse((await req(w.url, 'POST', '/grant/request', w.other, grantBody())).body).job_id);
        await sleep(5);
      }
      const p1 = JobListResponse.parse((await req(w.url, 'GET', '/jobs?limit=2', w.other)).body);
      const p2 = JobListResponse.parse(
        (await req(w.url, 'GET', `/jobs?limit=2&cursor=${p1.next_cursor}`, w.other)).body,
      );
      const p3 = JobListResponse.parse(
        (await req(w.url, 'GET', `/jobs?limit=2&cursor=${p2.next_cursor}`, w.other)).body,
      );
      expect([...p1.jobs, ...p2.jobs, ...p3.jobs].map((j) => j.id)).toEqual([...ids].reverse());
      expect(p3.next_cursor).toBeNull();
      const mine = JobListResponse.parse((await req(w.url, 'GET', '/jobs', w.user)).body);
      expect(mine.jobs.map((j) => j.id)).not.toContain(ids[0]);
      const pending = JobListResponse.parse((await req(w.url, 'GET', '/jobs?state=pending', w.other)).body);
      expect(pending.jobs.every((j) => j.state === 'pending')).toBe(true);
      expect((await req(w.url, 'GET', '/jobs?limit=0', w.other)).status).toBe(400);
    });

    it('shows users the online machines and admins all of them', async () => {
      const idle = await createMachineToken(w.url, w.admin, 'never-registered');
      const forUser = MachineListResponse.parse((await req(w.url, 'GET', '/machines', w.user)).body);
      expect(forUser.machines.map((m) => m.name)).toEqual(['m1']);
      expect(forUser.machines[0]).toMatchObject({ online: true, idf_versions: ['5.3.1'], capacity: { free_slots: 2 } });
      const forAdmin = MachineListResponse.parse((await req(w.url, 'GET', '/machines', w.admin)).body);
      expect(forAdmin.machines.map((m) => m.name).sort()).toEqual(['m1', 'never-registered']);
      expect(JSON.stringify(forAdmin)).not.toContain(idle.token);
      expect((await req(w.url, 'DELETE', `/machines/${idle.machineId}`, w.admin)).status).toBe(204);
      expect((await req(w.url, 'POST', '/agents/heartbeat', idle.token, heartbeat())).status).toBe(401);
      expect((await req(w.url, 'DELETE', `/machines/${idle.machineId}`, w.admin)).status).toBe(404);
    });

    it('keeps publishing a rotated signing key while its grants may live', async () => {
      const before = (await req<{ keys: { kid: string }[] }>(w.url, 'GET', '/.well-known/jwks.json')).body.keys;
      const rot = await req<{ kid: string }>(w.url, 'POST', '/admin/signing-keys/rotate', w.admin);
      expect(rot.status).toBe(200);
      const after = (await req<{ keys: { kid: string }[] }>(w.url, 'GET', '/.well-known/jwks.json')).body.keys;
      expect(after.map((k) => k.kid)).toEqual([rot.body.kid, ...before.map((k) => k.kid)]);
      const g = GrantResponse.parse((await req(w.url, 'POST', '/grant/request', w.user, grantBody())).body);
      const header = JSON.parse(Buffer.from(g.grant.split('.')[0]!, 'base64url').toString()) as { kid: string };
      expect(header.kid).toBe(rot.body.kid);
    });

    it('serves health, metrics and the OpenAPI document', async () => {
      const h = HealthResponse.parse((await req(w.url, 'GET', '/health')).body);
      expect(h).toMatchObject({ status: 'ok', db: 'ok', driver: db });
      const m = await fetch(`${w.url}/metrics`).then((r) => r.text());
      expect(m).toMatch(/aegis_grants_issued_total [1-9]/);
      expect(m).toMatch(/aegis_jobs\{state="pending"\} [1-9]/);
      expect(m).toContain('aegis_http_request_duration_seconds_bucket');
      expect(m).toContain('aegis_long_polls_open');
      const doc = (
        await req<{ paths: Record<string, unknown>; components: { schemas: Record<string, unknown> } }>(
          w.url,
          'GET',
          '/api/docs-json',
        )
      ).body;
      expect(Object.keys(doc.paths)).toEqual(
        expect.arrayContaining(['/grant/request', '/signaling/{jobId}/events', '/agents/jobs']),
      );
      expect(doc.components.schemas.GrantRequest).toBeDefined();
      expect((await fetch(`${w.url}/api/docs`)).status).toBe(200);
    });

    it('releases long-polls and SSE streams when the client goes away', async () => {
      const gauge = async (name: string) => {
        const m = await fetch(`${w.url}/metrics`).then((r) => r.text());
        return Number(new RegExp(`^${name} (\\d+)$`, 'm').exec(m)?.[1]);
      };
      const g = GrantResponse.parse((await req(w.url, 'POST', '/grant/request', w.user, grantBody())).body);
      const ac = new AbortController();
      const poll = fetch(`${w.url}/agents/jobs?wait=25`, {
        headers: { authorization: `Bearer ${w.machine.token}` },
        signal: ac.signal,
      }).catch(() => null);
      const stream = fetch(`${w.url}/signaling/${g.job_id}/events`, {
        headers: { authorization: `Bearer ${w.user}` },
        signal: ac.signal,
      }).catch(() => null);
      let open = [0, 0];
      for (let i = 0; i < 50 && (open[0] !== 1 || open[1] !== 1); i++) {
        await sleep(100);
        open = [await gauge('aegis_long_polls_open'), await gauge('aegis_sse_streams_open')];
      }
      expect(open).toEqual([1, 1]);
      ac.abort();
      await Promise.all([poll, stream]);
      for (let i = 0; i < 50 && (open[0] !== 0 || open[1] !== 0); i++) {
        await sleep(100);
        open = [await gauge('aegis_long_polls_open'), await gauge('aegis_sse_streams_open')];
      }
      expect(open).toEqual([0, 0]);
    });

    it('allows browser calls only from ALLOWED_ORIGINS', async () => {
      const ok = await fetch(`${w.url}/me`, {
        headers: { origin: 'http://dash.test', authorization: `Bearer ${w.user}` },
      });
      expect(ok.headers.get('access-control-allow-origin')).toBe('http://dash.test');
      const bad = await fetch(`${w.url}/me`, {
        headers: { origin: 'http://dash.test.evil', authorization: `Bearer ${w.user}` },
      });
      expect(bad.headers.get('access-control-allow-origin')).toBeNull();
      const pre = await fetch(`${w.url}/grant/request`, {
        method: 'OPTIONS',
        headers: { origin: 'http://evil.test', 'access-control-request-method': 'POST' },
      });
      expect(pre.headers.get('access-control-allow-origin')).toBeNull();
    });
  });

  describe(`machines that go silent (${db})`, () => {
    let w: World;
    beforeAll(async () => {
      w = await world(db, { HEARTBEAT_INTERVAL_SECS: '1' });
    });
    afterAll(async () => {
      await w?.api.stop();
    });

    it('fails their jobs with agent_lost and stops offering them', async () => {
      const g = GrantResponse.parse((await req(w.url, 'POST', '/grant/request', w.user, grantBody())).body);
      await req(w.url, 'POST', `/signaling/${g.job_id}/offer`, w.user, OFFER);
      expect((await req(w.url, 'POST', `/agents/jobs/${g.job_id}/claim`, w.machine.token)).status).toBe(200);
      // No more heartbeats: offline after 3 × 1 s.
      let job = JobView.parse((await req(w.url, 'GET', `/jobs/${g.job_id}`, w.user)).body);
      for (let i = 0; i < 50 && job.state === 'assigned'; i++) {
        await sleep(200);
        job = JobView.parse((await req(w.url, 'GET', `/jobs/${g.job_id}`, w.user)).body);
      }
      expect(job).toMatchObject({ state: 'failed', error: { code: 'agent_lost' } });
      const none = await req(w.url, 'POST', '/grant/request', w.user, grantBody());
      expect(none.status).toBe(503);
      expect(MachineListResponse.parse((await req(w.url, 'GET', '/machines', w.user)).body).machines).toEqual([]);
    });
  });
}
