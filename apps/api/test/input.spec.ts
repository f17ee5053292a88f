import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GrantResponse, JobView } from '@aegis/protocol';
import { grantBody, heartbeat, OFFER, req, world, type World } from './http.js';

/** Bad input gets a clear 4xx and changes nothing. */
for (const db of ['sqlite', 'postgres'] as const) {
  describe(`bad input (${db})`, () => {
    let w: World;
    let jobId: string;
    const jobCount = async (key: string) =>
      (await req<{ jobs: unknown[] }>(w.url, 'GET', '/jobs', key)).body.jobs.length;

    beforeAll(async () => {
      // Debug logs include one line per request: the no-secrets check below covers them too.
      w = await world(db, { LOG_LEVEL: 'debug' });
      const g = await req(w.url, 'POST', '/grant/request', w.user, grantBody());
      jobId = GrantResponse.parse(g.body).job_id;
    });
    afterAll(async () => {
      await w?.api.stop();
    });

    it('malformed JSON, wrong types and unknown fields are 400 invalid_input naming the field', async () => {
      const before = await jobCount(w.user);
      const malformed = await req(w.url, 'POST', '/grant/request', w.user, '{"peer_fingerprint": ');
      expect(malformed.status).toBe(400);
      expect(malformed.body).toMatchObject({ code: 'invalid_input', message: expect.stringMatching(/JSON/) });
      const wrongType = await req(w.url, 'POST', '/grant/request', w.user, grantBody({ cpu_cores: 'two' }));
      expect(wrongType.status).toBe(400);
      expect(wrongType.body).toMatchObject({ code: 'invalid_input', message: expect.stringMatching(/cpu_cores/) });
      const unknown = await req(w.url, 'POST', '/grant/request', w.user, grantBody({ cpu_core: 2 }));
      expect(unknown.status).toBe(400);
      expect(unknown.body).toMatchObject({ code: 'invalid_input', message: expect.stringMatching(/cpu_core/) });
      const badSdp = await req(w.url, 'POST', `/signaling/${jobId}/offer`, w.user, { type: 'offer', sdp: 'hello' });
      expect(badSdp.status).toBe(400);
      expect(badSdp.body).toMatchObject({ message: expect.stringMatching(/sdp/) });
      const badHb = await req(w.url, 'POST', '/agents/heartbeat', w.machine.token, {
        ...heartbeat(),
        targets: ['esp8266'],
      });
      expect(badHb.status).toBe(400);
      expect(badHb.body).toMatchObject({ message: expect.stringMatching(/targets/) });
      const badId = await req(w.url, 'GET', '/jobs/not-a-uuid', w.user);
      expect(badId.status).toBe(400);
      expect(await jobCount(w.user)).toBe(before);
    });

    it('missing, wrong-kind, unknown and revoked credentials are 401', async () => {
      expect((await req(w.url, 'GET', '/me')).body).toMatchObject({ code: 'unauthenticated' });
      expect((await req(w.url, 'GET', '/me', 'aegis_u_nope')).status).toBe(401);
      expect((await req(w.url, 'GET', '/me', w.machine.token)).status).toBe(401);
      expect((await req(w.url, 'GET', '/agents/jobs?wait=0', w.user)).status).toBe(401);
      expect((await req(w.url, 'POST', '/grant/request', undefined, grantBody())).status).toBe(401);

      const made = await req<{ key: { id: string }; secret: string }>(w.url, 'POST', '/keys', w.user, { name: 'ci' });
      expect(made.status).toBe(201);
      expect((await req(w.url, 'GET', '/me', made.body.secret)).status).toBe(200);
      expect((await req(w.url, 'DELETE', `/keys/${made.body.key.id}`, w.other)).status).toBe(404);
      expect((await req(w.url, 'DELETE', `/keys/${made.body.key.id}`, w.user)).status).toBe(200);
      const after = await req(w.url, 'POST', '/grant/request', made.body.secret, grantBody());
      expect(after.status).toBe(401);
      expect(after.body).toMatchObject({ code: 'unauthenticated', message: expect.stringMatching(/revoked/) });
      const keys = await req<{ keys: { id: string; revoked_at: string | null }[] }>(w.url, 'GET', '/keys', w.user);
      expect(keys.body.keys.find((k) => k.id === made.body.key.id)?.revoked_at).not.toBeNull();
      expect(JSON.stringify(keys.body)).not.toContain(made.body.secret);
    });

    it('users cannot do admin things', async () => {
      expect((await req(w.url, 'POST', '/users', w.user, { name: 'mallory', role: 'admin' })).status).toBe(403);
      expect((await req(w.url, 'GET', '/users', w.user)).status).toBe(403);
      expect((await req(w.url, 'POST', '/machines', w.user, { name: 'x' })).status).toBe(403);
      expect((await req(w.url, 'DELETE', `/machines/${w.machine.machineId}`, w.user)).status).toBe(403);
      expect((await req(w.url, 'POST', '/admin/signing-keys/rotate', w.user)).status).toBe(403);
      const users = await req<{ users: { name: string }[] }>(w.url, 'GET', '/users', w.admin);
      expect(users.body.users.map((u) => u.name)).not.toContain('mallory');
    });

    it("another user's job is 404 for every action and stays untouched", async () => {
      expect((await req(w.url, 'GET', `/jobs/${jobId}`, w.other)).status).toBe(404);
      expect((await req(w.url, 'POST', `/jobs/${jobId}/cancel`, w.other)).status).toBe(404);
      expect((await req(w.url, 'POST', `/signaling/${jobId}/offer`, w.other, OFFER)).status).toBe(404);
      expect((await req(w.url, 'POST', `/signaling/${jobId}/candidate`, w.other, { candidate: 'c' })).status).toBe(404);
      expect((await req(w.url, 'GET', `/signaling/${jobId}/events`, w.other)).status).toBe(404);
      const job = JobView.parse((await req(w.url, 'GET', `/jobs/${jobId}`, w.user)).body);
      expect(job.state).toBe('pending');
      // The owner's offer still works (the others changed nothing), and only once.
      expect((await req(w.url, 'POST', `/signaling/${jobId}/offer`, w.user, OFFER)).status).toBe(202);
      expect((await req(w.url, 'POST', `/signaling/${jobId}/offer`, w.user, OFFER)).body).toMatchObject({
        code: 'offer_exists',
      });
    });

    it('a machine cannot answer or report on a job it did not claim', async () => {
      expect(
        (await req(w.url, 'POST', `/agents/jobs/${jobId}/answer`, w.machine.token, { type: 'answer', sdp: 'v=0' }))
          .status,
      ).toBe(404);
      expect(
        (await req(w.url, 'POST', `/agents/jobs/${jobId}/state`, w.machine.token, { state: 'running' })).status,
      ).toBe(404);
      expect(
        (await req(w.url, 'POST', `/agents/jobs/${jobId}/state`, w.machine.token, { state: 'pending' })).status,
      ).toBe(400);
    });

    it('never logs a key, token or grant', async () => {
      const g = await req(w.url, 'POST', '/grant/request', w.user, grantBody());
      const log = w.api.output.join('\n');
      expect(log).toContain('"msg":"request"');
      for (const secret of [w.admin, w.user, w.other, w.machine.token, GrantResponse.parse(g.body).grant])
        expect(log).not.toContain(secret);
    });
  });
}
