import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { verifyGrant, type GrantVerifierDeps } from '../src/grants/grant-verifier.js';
import { ReplayCache } from '../src/grants/replay-cache.js';
import { importJwks, staticTrustedKeys } from '../src/grants/trusted-keys.js';
import { FP, claimsFor, makeSigner, offerSdpWith } from './grant-fixtures.js';

const NOW = 1_800_000_000_000;

async function setup() {
  const signer = await makeSigner('k1');
  const deps: GrantVerifierDeps = {
    keys: staticTrustedKeys(await importJwks(signer.jwks)),
    replay: new ReplayCache(),
    now: () => NOW,
    issuers: ['aegis-api'],
  };
  return { signer, deps, jobId: randomUUID(), nowSecs: NOW / 1000 };
}

describe('verifyGrant', () => {
  it('accepts a good grant once and refuses the replay', async () => {
    const { signer, deps, jobId, nowSecs } = await setup();
    const grant = await signer.sign(claimsFor(jobId, nowSecs));
    const first = await verifyGrant(deps, { grant, jobId, offerSdp: offerSdpWith() });
    expect(first.ok).toBe(true);
    const again = await verifyGrant(deps, { grant, jobId, offerSdp: offerSdpWith() });
    expect(again).toMatchObject({ ok: false, refusal: { code: 'grant_replayed' } });
  });

  const cases: [
    string,
    (s: Awaited<ReturnType<typeof setup>>) => Promise<{ grant: string; jobId?: string; sdp?: string }>,
  ][] = [
    [
      'grant_bad_signature',
      async ({ signer, jobId, nowSecs }) => {
        const g = await signer.sign(claimsFor(jobId, nowSecs));
        const [h, p, s] = g.split('.');
        return { grant: `${h}.${p}.${s.slice(0, -4)}AAAA` };
      },
    ],
    [
      'grant_bad_signature',
      async ({ jobId, nowSecs }) => {
        // Same kid, other key: a forged grant.
        const other = await makeSigner('k1');
        return { grant: await other.sign(claimsFor(jobId, nowSecs)) };
      },
    ],
    [
      'grant_unknown_kid',
      async ({ jobId, nowSecs }) => ({ grant: await (await makeSigner('k2')).sign(claimsFor(jobId, nowSecs)) }),
    ],
    [
      'grant_expired',
      async ({ signer, jobId, nowSecs }) => ({
        grant: await signer.sign(claimsFor(jobId, nowSecs - 60, { exp: nowSecs - 30 })),
      }),
    ],
    [
      'grant_not_yet_valid',
      async ({ signer, jobId, nowSecs }) => ({
        grant: await signer.sign(claimsFor(jobId, nowSecs + 60)),
      }),
    ],
    [
      'grant_wrong_job',
      async ({ signer, nowSecs }) => ({ grant: await signer.sign(claimsFor(randomUUID(), nowSecs)) }),
    ],
    [
      'grant_fingerprint_mismatch',
      async ({ signer, jobId, nowSecs }) => ({
        grant: await signer.sign(claimsFor(jobId, nowSecs)),
        sdp: offerSdpWith({ ...FP, value: FP.value.replace(/^../, 'FF') }),
      }),
    ],
    [
      'grant_wrong_issuer',
      async ({ signer, jobId, nowSecs }) => ({
        grant: await signer.sign(claimsFor(jobId, nowSecs, { iss: 'evil' })),
      }),
    ],
    [
      'grant_malformed',
      async ({ signer, jobId, nowSecs }) => ({
        grant: await signer.sign(claimsFor(jobId, nowSecs), { typ: 'JWT' }),
      }),
    ],
    [
      'grant_malformed',
      async ({ signer, jobId, nowSecs }) => ({
        grant: await signer.sign({ ...claimsFor(jobId, nowSecs), aud: 'someone-else' }),
      }),
    ],
    ['grant_malformed', async () => ({ grant: 'not-a-jws' })],
  ];

  it.each(cases.map(([code, make], i) => [`${code} #${i}`, code, make] as const))('%s', async (_n, code, make) => {
    const s = await setup();
    const { grant, jobId, sdp } = await make(s);
    const r = await verifyGrant(s.deps, { grant, jobId: jobId ?? s.jobId, offerSdp: sdp ?? offerSdpWith() });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.refusal.code).toBe(code);
      expect(r.refusal.message.length).toBeGreaterThan(20);
    }
  });

  it('allows a small clock skew', async () => {
    const { signer, deps, jobId, nowSecs } = await setup();
    const grant = await signer.sign(claimsFor(jobId, nowSecs - 17, { exp: nowSecs - 2 }));
    expect((await verifyGrant(deps, { grant, jobId, offerSdp: offerSdpWith() })).ok).toBe(true);
  });

  it('refuses JWKS entries with private parts', async () => {
    await expect(importJwks({ keys: [{ kty: 'OKP', crv: 'Ed25519', x: 'AA', d: 'BB', kid: 'x' }] })).rejects.toThrow(
      /private/,
    );
  });
});
