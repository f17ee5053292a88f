import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMachineToken } from '@aegis/testkit';
import { GrantResponse, MachineKeyListResponse } from '@aegis/protocol';
import { grantBody, heartbeat, OFFER, req, world, type World } from './http.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const jwk = (kid?: string) => ({ kty: 'OKP', crv: 'Ed25519', x: `x-${kid ?? 'none'}`, ...(kid ? { kid } : {}) });

for (const db of ['sqlite', 'postgres'] as const) {
  describe(`GET /machines/keys (${db})`, () => {
    let w: World;
    beforeAll(async () => {
      w = await world(db, { HEARTBEAT_INTERVAL_SECS: '1' });
    });
    afterAll(async () => {
      await w?.api.stop();
    });

    it('lists the keys of online machines and of the machines that ran the caller’s jobs, by kid', async () => {
      const m1 = w.machine.token;
      const beat1 = () => req(w.url, 'POST', '/agents/heartbeat', m1, heartbeat({ bundle_public_jwk: jwk('k-m1') }));
      expect((await beat1()).status).toBe(200);
      const m2 = await createMachineToken(w.url, w.admin, 'm2');
      const hb2 = heartbeat({ name: 'm2', bundle_public_jwk: jwk('k-m2') });
      expect((await req(w.url, 'POST', '/agents/register', m2.token, hb2)).status).toBe(200);
      // A key without a kid cannot be named by a bundle: never listed.
      const m3 = await createMachineToken(w.url, w.admin, 'm3');
      const hb3 = heartbeat({ name: 'm3', bundle_public_jwk: jwk() });
      expect((await req(w.url, 'POST', '/agents/register', m3.token, hb3)).status).toBe(200);

      const g = GrantResponse.parse((await req(w.url, 'POST', '/grant/request', w.user, grantBody())).body);
      await req(w.url, 'POST', `/signaling/${g.job_id}/offer`, w.user, OFFER);
      expect((await req(w.url, 'POST', `/agents/jobs/${g.job_id}/claim`, m2.token)).status).toBe(200);

      const kids = async (key: string) =>
        MachineKeyListResponse.parse((await req(w.url, 'GET', '/machines/keys', key)).body)
          .keys.map((k) => k.kid)
          .sort();
      expect(await kids(w.other)).toEqual(['k-m1', 'k-m2']);

      // m2 and m3 go silent (offline after 3 × 1 s); m1 keeps beating.
      for (let i = 0; i < 8; i++) {
        await sleep(500);
        await beat1();
      }
      const forUser = MachineKeyListResponse.parse((await req(w.url, 'GET', '/machines/keys', w.user)).body);
      expect(forUser.keys.map((k) => k.kid).sort()).toEqual(['k-m1', 'k-m2']);
      expect(forUser.keys.find((k) => k.kid === 'k-m2')).toMatchObject({
        machine_id: m2.machineId,
        machine_name: 'm2',
        online: false,
        public_jwk: { kid: 'k-m2', crv: 'Ed25519' },
      });
      // Another user never ran a job there: an offline machine's key is not theirs to trust.
      expect(await kids(w.other)).toEqual(['k-m1']);
      expect(await kids(w.admin)).toEqual(['k-m1', 'k-m2']);
      expect((await req(w.url, 'GET', '/machines/keys', 'aegis_u_nope')).status).toBe(401);
    });
  });
}
