import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import type { AgentStateReport, ClaimResponse } from '@aegis/protocol';
import type { ControlApi } from '../src/control/control-api.js';
import { StateReporter } from '../src/control/state-reporter.js';
import { ReplayCache } from '../src/grants/replay-cache.js';
import { importJwks, staticTrustedKeys } from '../src/grants/trusted-keys.js';
import { JobRegistry } from '../src/jobs/job-registry.js';
import { runJobSession, type SessionDeps } from '../src/job-session.js';
import { FP, claimsFor, makeSigner, offerSdpWith } from './grant-fixtures.js';
import { createFixtureBackend } from './fixtures/fixture-backend.mjs';

/** A control API that records what the machine reports; refusals must never reach WebRTC or the disk. */
function fakeApi() {
  const reports: { jobId: string; report: AgentStateReport }[] = [];
  const answers: string[] = [];
  const api: ControlApi = {
    register: async () => {
      throw new Error('unused');
    },
    heartbeat: async () => {
      throw new Error('unused');
    },
    poll: async () => ({ v: 1, jobs: [] }),
    claim: async () => undefined,
    answer: async (jobId) => void answers.push(jobId),
    candidate: async () => undefined,
    reportState: async (jobId, report) => void reports.push({ jobId, report }),
    clientCandidates: async () => [],
  };
  return { api, reports, answers };
}

const workDir = mkdtempSync(join(tmpdir(), 'aegis-refusal-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

async function setup() {
  const signer = await makeSigner('k1');
  const { api, reports, answers } = fakeApi();
  const log = pino({ level: 'silent' });
  const deps: SessionDeps = {
    api,
    reporter: new StateReporter(api, log),
    verifier: {
      keys: staticTrustedKeys(await importJwks(signer.jwks)),
      replay: new ReplayCache(),
      now: Date.now,
      issuers: [],
    },
    registry: new JobRegistry(workDir, 60_000),
    backend: createFixtureBackend(),
    rtcBase: {},
    log,
    maxUploadBytes: 1024 * 1024,
  };
  return { signer, deps, reports, answers };
}

const claim = (jobId: string, grant: string, sdp = offerSdpWith()): ClaimResponse => ({
  v: 1,
  job_id: jobId,
  grant,
  offer: { type: 'offer', sdp },
  candidates: [],
});

describe('a refused grant is reported as the job error and nothing else happens', () => {
  const now = () => Math.floor(Date.now() / 1000);
  const cases: [string, (s: Awaited<ReturnType<typeof setup>>, jobId: string) => Promise<ClaimResponse>][] = [
    [
      'grant_bad_signature',
      async ({ signer }, id) => {
        const g = await signer.sign(claimsFor(id, now()));
        return claim(id, g.slice(0, -6) + (g.endsWith('AAAAAA') ? 'BBBBBB' : 'AAAAAA'));
      },
    ],
    ['grant_unknown_kid', async (_s, id) => claim(id, await (await makeSigner('other')).sign(claimsFor(id, now())))],
    [
      'grant_expired',
      async ({ signer }, id) => claim(id, await signer.sign(claimsFor(id, now() - 100, { exp: now() - 60 }))),
    ],
    [
      'grant_not_yet_valid',
      async ({ signer }, id) => claim(id, await signer.sign(claimsFor(id, now() + 120, { exp: now() + 135 }))),
    ],
    ['grant_wrong_job', async ({ signer }, id) => claim(id, await signer.sign(claimsFor(randomUUID(), now())))],
    [
      'grant_fingerprint_mismatch',
      async ({ signer }, id) =>
        claim(
          id,
          await signer.sign(claimsFor(id, now())),
          offerSdpWith({ ...FP, value: FP.value.replace(/^../, 'EE') }),
        ),
    ],
  ];
  it.each(cases)('%s', async (code, make) => {
    const s = await setup();
    const jobId = randomUUID();
    await runJobSession(s.deps, await make(s, jobId));
    expect(s.reports).toHaveLength(1);
    expect(s.reports[0]).toMatchObject({ jobId, report: { state: 'failed', error: { code } } });
    expect(s.reports[0].report.error!.message).toMatch(/\w+ \w+ \w+/);
    expect(s.answers).toEqual([]);
    expect(s.deps.registry.get(jobId)).toBeUndefined();
    expect(readdirSync(workDir)).not.toContain(jobId);
  });

  it('grant_replayed: the same grant a second time', async () => {
    const s = await setup();
    const jobId = randomUUID();
    const grant = await s.signer.sign(claimsFor(jobId, now()));
    // First use passes the check (then fails to connect: the fake offer has no media; that is fine here).
    s.deps.connectTimeoutMs = 100;
    await runJobSession(s.deps, claim(jobId, grant)).catch(() => undefined);
    s.reports.length = 0;
    await runJobSession(s.deps, claim(jobId, grant));
    expect(s.reports[0]).toMatchObject({ report: { state: 'failed', error: { code: 'grant_replayed' } } });
  });

  it('attach to a job this machine does not hold is refused', async () => {
    const s = await setup();
    const jobId = randomUUID();
    const grant = await s.signer.sign(claimsFor(jobId, now(), { kind: 'attach', attach_to_job_id: randomUUID() }));
    await runJobSession(s.deps, claim(jobId, grant));
    expect(s.reports[0]).toMatchObject({ report: { state: 'failed', error: { code: 'attach_not_found' } } });
  });
});
