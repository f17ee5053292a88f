import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importJWK, jwtVerify, decodeProtectedHeader } from 'jose';
import fs from 'node:fs';
import {
  AgentPollResponse,
  ClaimResponse,
  GRANT_JWS_TYP,
  GrantClaims,
  GrantResponse,
  HeartbeatResponse,
  JobView,
  SignalingEvent,
} from '@aegis/protocol';
import { ANSWER, grantBody, OFFER, req, sse, world, type World } from './http.js';

for (const db of ['sqlite', 'postgres'] as const) {
  describe(`a build's signaling flow over HTTP (${db})`, () => {
    let w: World;
    beforeAll(async () => {
      w = await world(db);
    });
    afterAll(async () => {
      await w?.api.stop();
    });

    it('grant → offer → poll → claim → answer → SSE → state', async () => {
      const g = await req(w.url, 'POST', '/grant/request', w.user, grantBody({ ttl_secs: 100, target: 'esp32c3' }));
      expect(g.status).toBe(201);
      const grant = GrantResponse.parse(g.body);
      expect(grant.candidates.map((c) => c.machine_id)).toEqual([w.machine.machineId]);

      // The grant verifies with the JWKS the API wrote for local machines, and its TTL was clamped to 30 s.
      const jwks = JSON.parse(fs.readFileSync(w.api.jwksPath, 'utf8')) as { keys: { kid: string }[] };
      const header = decodeProtectedHeader(grant.grant);
      expect(header.typ).toBe(GRANT_JWS_TYP);
      const jwk = jwks.keys.find((k) => k.kid === header.kid)!;
      const { payload } = await jwtVerify(grant.grant, await importJWK(jwk, 'EdDSA'), { audience: 'aegis-machine' });
      const claims = GrantClaims.parse(payload);
      expect(claims.exp - claims.iat).toBe(30);
      expect(claims.job_id).toBe(grant.job_id);
      expect(claims.iss).toBe(w.url);
      const wellKnown = await req<{ keys: { kid: string }[] }>(w.url, 'GET', '/.well-known/jwks.json');
      expect(wellKnown.body.keys.map((k) => k.kid)).toContain(header.kid);

      // Without an offer the job is invisible to machines.
      const early = await req(w.url, 'GET', '/agents/jobs?wait=0', w.machine.token);
      expect(AgentPollResponse.parse(early.body).jobs).toEqual([]);

      // A long-poll that is already waiting is answered when the offer arrives.
      const polling = req(w.url, 'GET', '/agents/jobs?wait=20', w.machine.token);
      await new Promise((r) => setTimeout(r, 300));
      expect((await req(w.url, 'POST', `/signaling/${grant.job_id}/offer`, w.user, OFFER)).status).toBe(202);
      expect(
        (
          await req(w.url, 'POST', `/signaling/${grant.job_id}/candidate`, w.user, {
            candidate: 'candidate:1 1 udp 1 127.0.0.1 5000 typ host',
            sdpMid: '0',
          })
        ).status,
      ).toBe(202);
      const polled = AgentPollResponse.parse((await polling).body);
      expect(polled.jobs.map((j) => j.job_id)).toEqual([grant.job_id]);
      expect(polled.jobs[0]!.offer).toEqual(OFFER);
      expect(polled.jobs[0]!.grant).toBe(grant.grant);

      const claim = await req(w.url, 'POST', `/agents/jobs/${grant.job_id}/claim`, w.machine.token);
      expect(claim.status).toBe(200);
      expect(ClaimResponse.parse(claim.body).candidates).toHaveLength(1);
      const again = await req(w.url, 'POST', `/agents/jobs/${grant.job_id}/claim`, w.machine.token);
      expect(again.status).toBe(409);
      expect(again.body).toMatchObject({ code: 'already_claimed' });

      const cands = await req<{ candidates: { seq: number }[] }>(
        w.url,
        'GET',
        `/agents/jobs/${grant.job_id}/candidates?after=0`,
        w.machine.token,
      );
      expect(cands.body.candidates).toHaveLength(1);
      const after = await req<{ candidates: unknown[] }>(
        w.url,
        'GET',
        `/agents/jobs/${grant.job_id}/candidates?after=${cands.body.candidates[0]!.seq}`,
        w.machine.token,
      );
      expect(after.body.candidates).toHaveLength(0);

      expect((await req(w.url, 'POST', `/agents/jobs/${grant.job_id}/answer`, w.machine.token, ANSWER)).status).toBe(
        202,
      );
      expect(
        (
          await req(w.url, 'POST', `/agents/jobs/${grant.job_id}/candidate`, w.machine.token, {
            candidate: 'candidate:2 1 udp 1 127.0.0.1 6000 typ host',
          })
        ).status,
      ).toBe(202);
      const running = await req(w.url, 'POST', `/agents/jobs/${grant.job_id}/state`, w.machine.token, {
        state: 'running',
      });
      expect(JobView.parse(running.body).state).toBe('running');

      const stream = await sse(`${w.url}/signaling/${grant.job_id}/events`, w.user, (ev) =>
        ev.some((e) => e.event === 'state' && e.data.state === 'running'),
      );
      const types = stream.events.map((e) => SignalingEvent.parse(e.data).type);
      // Its place in the queue when the job joined it (unless a machine took it first: the place is announced
      // asynchronously and never after `assigned`), then assigned, answered and running.
      const q = types[0] === 'state' ? 1 : 0;
      if (q) expect(stream.events[0]!.data).toMatchObject({ state: 'pending', queue: { position: 1 } });
      expect(types.slice(q)).toEqual(['assigned', 'state', 'answer', 'candidate', 'state']);
      expect(stream.events[q + 2]!.data.sdp).toBe(ANSWER.sdp);
      expect(stream.events[q]!.data.machine_id).toBe(w.machine.machineId);

      // Resume after the answer: only what came later.
      const resumed = await sse(`${w.url}/signaling/${grant.job_id}/events`, w.user, (ev) => ev.length >= 2, {
        lastEventId: stream.events[q + 2]!.id,
      });
      expect(resumed.events.map((e) => e.event)).toEqual(['candidate', 'state']);

      // Another user cannot watch it.
      expect((await sse(`${w.url}/signaling/${grant.job_id}/events`, w.other, () => true)).status).toBe(404);

      const done = await req(w.url, 'POST', `/agents/jobs/${grant.job_id}/state`, w.machine.token, {
        state: 'succeeded',
        exit_code: 0,
        sizes: { app: 1234 },
      });
      expect(JobView.parse(done.body)).toMatchObject({ state: 'succeeded', exit_code: 0, sizes: { app: 1234 } });
      const illegal = await req(w.url, 'POST', `/agents/jobs/${grant.job_id}/state`, w.machine.token, {
        state: 'running',
      });
      expect(illegal.status).toBe(409);
      expect(illegal.body).toMatchObject({ code: 'illegal_transition' });

      const view = await req(w.url, 'GET', `/jobs/${grant.job_id}`, w.user);
      expect(JobView.parse(view.body).state).toBe('succeeded');
      expect((await req(w.url, 'GET', `/jobs/${grant.job_id}`, w.other)).status).toBe(404);
      expect((await req(w.url, 'GET', `/jobs/${grant.job_id}`, w.admin)).status).toBe(200);

      const hb = await req(w.url, 'POST', '/agents/heartbeat', w.machine.token, {
        v: 1,
        name: 'm1',
        agent_version: 't',
        capacity: { total_slots: 2, free_slots: 2, cpu_cores: 8, memory_mb: 16384 },
        idf_versions: ['5.3.1'],
        targets: ['esp32c3'],
      });
      expect(HeartbeatResponse.parse(hb.body).cancel_job_ids).toEqual([]);
    });
  });
}
