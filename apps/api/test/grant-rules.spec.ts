import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '@aegis/testkit';
import { GrantClaims, GrantResponse, JobView } from '@aegis/protocol';
import { grantBody, OFFER, req, world, type World } from './http.js';

const claimsOf = (jws: string) =>
  GrantClaims.parse(JSON.parse(Buffer.from(jws.split('.')[1]!, 'base64url').toString()));

for (const db of ['sqlite', 'postgres'] as const) {
  describe(`who may raise a job's priority, and what an attach grant may name (${db})`, () => {
    let w: World;
    beforeAll(async () => {
      w = await world(db, { USER_MAX_CONCURRENT_JOBS: '20' });
    });
    afterAll(async () => w?.api.stop());

    it('refuses priority above the default from a user, changes nothing, and allows it for an admin', async () => {
      const before = await req<{ jobs: unknown[] }>(w.url, 'GET', '/jobs?limit=100', w.user);
      const r = await req(w.url, 'POST', '/grant/request', w.user, grantBody({ priority: 10 }));
      expect(r.status).toBe(403);
      expect(r.body).toMatchObject({ code: 'priority_forbidden', message: expect.stringMatching(/administrators/) });
      const after = await req<{ jobs: unknown[] }>(w.url, 'GET', '/jobs?limit=100', w.user);
      expect(after.body.jobs).toHaveLength(before.body.jobs.length);

      // Lowering one's own priority is allowed.
      const low = await req(w.url, 'POST', '/grant/request', w.user, grantBody({ priority: -5 }));
      expect(low.status).toBe(201);
      const lowJob = JobView.parse(
        (await req(w.url, 'GET', `/jobs/${GrantResponse.parse(low.body).job_id}`, w.user)).body,
      );
      expect(lowJob.priority).toBe(-5);

      const admin = await createUser(w.url, w.admin, 'admin');
      const high = await req(w.url, 'POST', '/grant/request', admin, grantBody({ priority: 10 }));
      expect(high.status).toBe(201);
      const job = JobView.parse(
        (await req(w.url, 'GET', `/jobs/${GrantResponse.parse(high.body).job_id}`, admin)).body,
      );
      expect(job.priority).toBe(10);
    });

    it('never names pty in an attach grant, and refuses an attach that asks for pty only', async () => {
      const g = GrantResponse.parse(
        (await req(w.url, 'POST', '/grant/request', w.user, grantBody({ required_channels: ['espctl', 'pty'] }))).body,
      );
      expect(claimsOf(g.grant).channels).toEqual(['espctl', 'pty']); // a build may open a terminal
      await req(w.url, 'POST', `/signaling/${g.job_id}/offer`, w.user, OFFER);
      expect((await req(w.url, 'POST', `/agents/jobs/${g.job_id}/claim`, w.machine.token)).status).toBe(200);

      const attach = await req(
        w.url,
        'POST',
        '/grant/request',
        w.user,
        grantBody({ attach_to_job_id: g.job_id, required_channels: ['espctl', 'firmware', 'pty'] }),
      );
      expect(attach.status).toBe(201);
      const claims = claimsOf(GrantResponse.parse(attach.body).grant);
      expect(claims.kind).toBe('attach');
      expect(claims.channels).toEqual(['espctl', 'firmware']);

      const ptyOnly = await req(
        w.url,
        'POST',
        '/grant/request',
        w.user,
        grantBody({ attach_to_job_id: g.job_id, required_channels: ['pty'] }),
      );
      expect(ptyOnly.status).toBe(400);
      expect(ptyOnly.body).toMatchObject({ code: 'invalid_input', message: expect.stringMatching(/pty/) });
    });
  });
}
