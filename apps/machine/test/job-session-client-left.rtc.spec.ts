import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { RTCPeerConnection } from 'werift';
import { fingerprintFromSdp, loopbackRtcConfig, withOwnCertificate } from '@aegis/peer';
import type { AgentStateReport } from '@aegis/protocol';
import { ApiRejectedError, type ControlApi } from '../src/control/control-api.js';
import { StateReporter } from '../src/control/state-reporter.js';
import { ReplayCache } from '../src/grants/replay-cache.js';
import { importJwks, staticTrustedKeys } from '../src/grants/trusted-keys.js';
import { JobRegistry } from '../src/jobs/job-registry.js';
import { holdsSlot } from '../src/jobs/job-registry.js';
import { runJobSession } from '../src/job-session.js';
import { claimsFor, makeSigner } from './grant-fixtures.js';
import { createFixtureBackend } from './fixtures/fixture-backend.mjs';

const workDir = mkdtempSync(join(tmpdir(), 'aegis-client-left-'));
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

/**
 * A claimed job whose client vanished before connecting (page closed while queued): the API answers the machine's
 * candidate poll with 410 client_left, and the session ends at once — not after the 2-minute connect timeout set
 * here — so its build slot is free for the next job.
 */
describe('a claimed job whose client left before connecting', () => {
  it('ends its session when the API says client_left, reporting it canceled, and holds no slot', async () => {
    const signer = await makeSigner('k1');
    const reports: { jobId: string; report: AgentStateReport }[] = [];
    const answers: string[] = [];
    let polls = 0;
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
      // The first polls find nothing (the client is within its grace), then the API knows it is gone.
      clientCandidates: async () => {
        if (++polls < 3) return [];
        throw new ApiRejectedError(410, 'client_left', 'The client of this job has gone.');
      },
    };
    const log = pino({ level: 'silent' });
    const registry = new JobRegistry(workDir, 60_000);
    const jobId = randomUUID();
    const now = Math.floor(Date.now() / 1000);
    // A real client offer, whose client is gone before the machine answers (the page was closed in the queue).
    const client = new RTCPeerConnection(await withOwnCertificate(loopbackRtcConfig));
    client.createDataChannel('espctl');
    await client.setLocalDescription(await client.createOffer());
    const sdp = client.localDescription!.sdp;
    await client.close();
    await runJobSession(
      {
        api,
        reporter: new StateReporter(api, log),
        verifier: {
          keys: staticTrustedKeys(await importJwks(signer.jwks)),
          replay: new ReplayCache(),
          now: Date.now,
          issuers: [],
        },
        registry,
        backend: createFixtureBackend(),
        rtcBase: {},
        log,
        maxUploadBytes: 1024 * 1024,
        connectTimeoutMs: 120_000,
      },
      {
        v: 1,
        job_id: jobId,
        grant: await signer.sign(claimsFor(jobId, now, { peer_fingerprint: fingerprintFromSdp(sdp)! })),
        offer: { type: 'offer', sdp },
        candidates: [],
      },
    );
    expect(answers).toEqual([jobId]); // it had answered: the session really waited for the client
    expect(polls).toBe(3);
    const job = registry.get(jobId)!;
    expect(job.state).toBe('canceled');
    expect(holdsSlot(job)).toBe(false);
    await expect.poll(() => reports.map((r) => r.report.state)).toContain('canceled');
  }, 20_000);
});
