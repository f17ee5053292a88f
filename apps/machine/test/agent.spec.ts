import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentStateReport, ClaimResponse, MachineHeartbeat } from '@aegis/protocol';
import { Agent } from '../src/agent.js';
import { ApiUnavailableError, type ControlApi } from '../src/control/control-api.js';
import { importJwks, staticTrustedKeys } from '../src/grants/trusted-keys.js';
import { createFixtureBackend } from './fixtures/fixture-backend.mjs';
import { claimsFor, makeSigner, offerSdpWith } from './grant-fixtures.js';

const hb = (machineId: string) => ({
  v: 1 as const,
  machine_id: machineId,
  heartbeat_interval_secs: 1,
  offline_after_secs: 3,
  server_time: new Date().toISOString(),
  cancel_job_ids: [],
});

/** A scripted control API: fails the first `downPolls` polls, then offers `jobs` once. */
function scriptedApi(o: { downPolls: number; jobs: ClaimResponse[]; claimable: Set<string> }) {
  const calls = {
    polls: 0,
    /** The free-slot count each poll carried. */
    frees: [] as (number | undefined)[],
    claims: [] as string[],
    heartbeats: [] as MachineHeartbeat[],
    reports: [] as AgentStateReport[],
  };
  let offered = false;
  const api: ControlApi = {
    register: async (b) => {
      calls.heartbeats.push(b);
      return hb('00000000-0000-4000-8000-000000000001');
    },
    heartbeat: async (b) => {
      calls.heartbeats.push(b);
      return hb('00000000-0000-4000-8000-000000000001');
    },
    poll: async (_w, signal, free) => {
      calls.polls++;
      calls.frees.push(free);
      if (calls.polls <= o.downPolls) throw new ApiUnavailableError('down');
      if (!offered) {
        offered = true;
        return { v: 1, jobs: o.jobs.map(({ v: _v, ...j }) => j) };
      }
      // A long-poll: answered empty after 5 s, or ended early by the agent (its free slots changed, or a stop).
      await new Promise<void>((r) => {
        const t = setTimeout(r, 5000);
        signal?.addEventListener('abort', () => (clearTimeout(t), r()), { once: true });
      });
      if (signal?.aborted) throw new ApiUnavailableError('aborted');
      return { v: 1, jobs: [] };
    },
    claim: async (id) => {
      calls.claims.push(id);
      return o.claimable.has(id) ? o.jobs.find((j) => j.job_id === id) : undefined;
    },
    answer: async () => undefined,
    candidate: async () => undefined,
    reportState: async (_id, r) => void calls.reports.push(r),
    clientCandidates: async () => [],
  };
  return { api, calls };
}

let agent: Agent | undefined;
const dirs: string[] = [];
afterEach(async () => {
  await agent?.stop();
  agent = undefined;
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function makeAgent(api: ControlApi, slots = 1, signer?: Awaited<ReturnType<typeof makeSigner>>) {
  signer ??= await makeSigner('k1');
  const workDir = mkdtempSync(join(tmpdir(), 'aegis-agent-'));
  dirs.push(workDir);
  agent = new Agent({
    api,
    backend: createFixtureBackend(),
    keys: staticTrustedKeys(await importJwks(signer.jwks)),
    log: pino({ level: 'silent' }),
    slots,
    cores: 2,
    memoryMb: 1024,
    workDir,
    retentionMs: 60_000,
    issuers: [],
    maxUploadBytes: 1 << 20,
  });
  return { agent, signer };
}

describe('Agent loop', () => {
  it('keeps polling through an outage with backoff, then claims and reports the (refused) job', async () => {
    const jobId = randomUUID();
    const signer = await makeSigner('k1');
    const now = Math.floor(Date.now() / 1000);
    // Signed for another job: the agent claims, verifies, refuses and reports.
    const grant = await signer.sign(claimsFor(randomUUID(), now));
    const claim: ClaimResponse = {
      v: 1,
      job_id: jobId,
      grant,
      offer: { type: 'offer', sdp: offerSdpWith() },
      candidates: [],
    };
    const { api, calls } = scriptedApi({ downPolls: 2, jobs: [claim], claimable: new Set([jobId]) });
    const { agent: a } = await makeAgent(api, 1, signer);
    const t0 = Date.now();
    await a.start();
    for (let i = 0; i < 100 && calls.reports.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    expect(calls.polls).toBeGreaterThanOrEqual(3);
    // Two failures back off at least 0.25 s + 0.5 s (half of 0.5 s and 1 s, full jitter above that).
    expect(Date.now() - t0).toBeGreaterThanOrEqual(700);
    expect(calls.claims).toEqual([jobId]);
    expect(calls.reports[0]).toMatchObject({ state: 'failed', error: { code: 'grant_wrong_job' } });
    expect(calls.heartbeats[0]).toMatchObject({
      capacity: { total_slots: 1, free_slots: 1 },
      idf_versions: ['test-1.0'],
    });
  });

  it('does not claim build jobs without a free slot, and a lost claim (409) is skipped', async () => {
    const taken = randomUUID();
    const lost = randomUUID();
    const { api, calls } = scriptedApi({ downPolls: 0, jobs: [], claimable: new Set() });
    const { agent: a, signer } = await makeAgent(api, 1);
    const now = Math.floor(Date.now() / 1000);
    const offer = async (id: string): Promise<ClaimResponse> => ({
      v: 1,
      job_id: id,
      grant: await signer.sign(claimsFor(id, now)),
      offer: { type: 'offer', sdp: offerSdpWith() },
      candidates: [],
    });
    Object.assign(
      api,
      scriptedApi({ downPolls: 0, jobs: [await offer(lost), await offer(taken)], claimable: new Set() }).api,
      {
        claim: async (id: string) => {
          calls.claims.push(id);
          return undefined;
        },
      },
    );
    await a.start();
    for (let i = 0; i < 40 && calls.claims.length < 2; i++) await new Promise((r) => setTimeout(r, 25));
    expect(calls.claims).toEqual([lost, taken]);
    expect(a.freeSlots()).toBe(1);
    // With the only slot busy, nothing is claimed.
    const job = await a.registry.create({
      id: randomUUID(),
      userId: randomUUID(),
      params: { cpu_cores: 1, memory_mb: 256, timeout_secs: 60 },
    });
    job.attached = 1;
    expect(a.freeSlots()).toBe(0);
    // Its build ends with the client still connected: the open page, reattach and reading results take no slot.
    mkdirSync(join(job.workspaceDir, 'project'), { recursive: true });
    writeFileSync(join(job.workspaceDir, 'project', 'fixture.json'), JSON.stringify({ lines: 2, delayMs: 1 }));
    await job.startBuild(a.backend, {});
    expect(job.state).toBe('succeeded');
    expect(job.attached).toBe(1);
    expect(a.freeSlots()).toBe(1);
  });

  it('never claims more builds than its slots under a burst of offers, even with slow claims', async () => {
    const signer = await makeSigner('k1');
    const now = Math.floor(Date.now() / 1000);
    const claimsSeen: string[] = [];
    const offers = async (n: number) =>
      Promise.all(
        Array.from({ length: n }, async () => {
          const id = randomUUID();
          return {
            job_id: id,
            grant: await signer.sign(claimsFor(id, now)),
            offer: { type: 'offer' as const, sdp: offerSdpWith() },
            candidates: [],
          };
        }),
      );
    const burst = new Map<string, Awaited<ReturnType<typeof offers>>[number]>();
    const { api, calls } = scriptedApi({ downPolls: 0, jobs: [], claimable: new Set() });
    let polls = 0;
    Object.assign(api, {
      // Every poll offers five new build jobs (as several API instances might), for the first ten polls.
      poll: async (_w: number, signal: AbortSignal | undefined, free: number | undefined) => {
        calls.frees.push(free);
        if (++polls > 10) {
          await new Promise((r) => setTimeout(r, 100));
          if (signal?.aborted) throw new ApiUnavailableError('aborted');
          return { v: 1, jobs: [] };
        }
        const jobs = await offers(5);
        for (const j of jobs) burst.set(j.job_id, j);
        return { v: 1, jobs };
      },
      claim: async (id: string) => {
        claimsSeen.push(id);
        await new Promise((r) => setTimeout(r, 20)); // the claim is in flight while the next offers are read
        return { v: 1, ...burst.get(id)! };
      },
    });
    const { agent: a } = await makeAgent(api, 2, signer);
    await a.start();
    for (let i = 0; i < 200 && polls <= 10; i++) await new Promise((r) => setTimeout(r, 20));
    // Two slots, 50 offers: exactly two claims (their sessions wait for a client that never comes).
    expect(claimsSeen).toHaveLength(2);
    expect(a.freeSlots()).toBe(0);
    expect(calls.frees.slice(1).every((f) => f === 0)).toBe(true);
  });

  it('tells the API of a freed slot at once: a fresh poll carries the new free count', async () => {
    const signer = await makeSigner('k1');
    const now = Math.floor(Date.now() / 1000);
    const id = randomUUID();
    // A grant for another job: the session is refused and ends at once, freeing the slot it reserved.
    const claim: ClaimResponse = {
      v: 1,
      job_id: id,
      grant: await signer.sign(claimsFor(randomUUID(), now)),
      offer: { type: 'offer', sdp: offerSdpWith() },
      candidates: [],
    };
    const { api, calls } = scriptedApi({ downPolls: 0, jobs: [claim], claimable: new Set([id]) });
    const { agent: a } = await makeAgent(api, 1, signer);
    await a.start();
    for (let i = 0; i < 100 && calls.reports.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(calls.reports[0]).toMatchObject({ state: 'failed' });
    for (let i = 0; i < 50 && calls.frees.at(-1) !== 1; i++) await new Promise((r) => setTimeout(r, 20));
    expect(calls.frees[0]).toBe(1);
    expect(calls.frees.at(-1)).toBe(1);
    expect(a.freeSlots()).toBe(1);
  });

  it('drain: stops taking jobs, lets a running build finish, then stops', async () => {
    const { api, calls } = scriptedApi({ downPolls: 0, jobs: [], claimable: new Set() });
    const { agent: a } = await makeAgent(api);
    await a.start();
    const job = await a.registry.create({
      id: randomUUID(),
      userId: randomUUID(),
      params: { cpu_cores: 1, memory_mb: 256, timeout_secs: 60 },
    });
    mkdirSync(join(job.workspaceDir, 'project'), { recursive: true });
    writeFileSync(join(job.workspaceDir, 'project', 'fixture.json'), JSON.stringify({ lines: 10, delayMs: 30 }));
    void job.startBuild(a.backend, {});
    const pollsBefore = calls.polls;
    await a.drain(10_000);
    expect(job.state).toBe('succeeded');
    expect(job.log.nextSeq).toBe(10);
    await new Promise((r) => setTimeout(r, 150));
    expect(calls.polls - pollsBefore).toBeLessThanOrEqual(1);
    agent = undefined;
  });
});
