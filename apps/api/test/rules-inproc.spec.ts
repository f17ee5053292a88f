import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GrantRequest } from '@aegis/protocol';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/logger.js';
import { startServer, type Server } from '../src/server.js';
import { AgentsService } from '../src/agents/agents.service.js';
import { AuthService } from '../src/auth/auth.service.js';
import { GrantsService } from '../src/grants/grants.service.js';
import { JobsService } from '../src/jobs/jobs.service.js';
import { Sweeper } from '../src/jobs/sweeper.js';
import { MachinesService } from '../src/machines/machines.service.js';
import { SignalingService } from '../src/signaling/signaling.service.js';
import { UsersService } from '../src/users/users.service.js';
import { SigningKeysService } from '../src/grants/signing-keys.service.js';
import { FINGERPRINT, heartbeat, OFFER } from './http.js';

/** The job rules with the real services and database, and a clock the test moves. */
describe('job rules with a controlled clock (in process, SQLite)', () => {
  let now = Date.parse('2026-11-25T10:00:00Z');
  const clock = { now: () => now };
  let server: Server;
  let dir: string;
  const get = <T>(t: new (...a: never[]) => T) => server.app.get(t as never) as T;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aegis-inproc-'));
    const cfg = loadConfig({ PORT: '0', AEGIS_DATA_DIR: dir, HEARTBEAT_INTERVAL_SECS: '10', PENDING_GRACE_SECS: '5' });
    server = await startServer(cfg, createLogger('silent'), { clock, workers: false });
  });
  afterAll(async () => {
    await server?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function setup() {
    const users = get(UsersService);
    const { secret } = await users.createUser(`u-${Math.random()}`, 'user');
    const user = await get(AuthService).user(secret);
    const machines = await Promise.all(
      [1, 2, 3].map(async (i) => {
        const { machine } = await get(MachinesService).create(`m${i}`);
        await get(MachinesService).heartbeat(machine.id, heartbeat({ name: `m${i}` }));
        return { kind: 'machine' as const, machineId: machine.id, name: `m${i}` };
      }),
    );
    const grant = await get(GrantsService).request(
      user,
      GrantRequest.parse({ peer_fingerprint: FINGERPRINT, required_channels: ['espctl'], ttl_secs: 10 }),
    );
    return { user, machines, jobId: grant.job_id };
  }

  it('claim race: of concurrent claims exactly one wins', async () => {
    const { user, machines, jobId } = await setup();
    await get(SignalingService).offer(user, jobId, OFFER);
    const results = await Promise.allSettled(machines.map((m) => get(AgentsService).claim(m, jobId)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason.code)).toEqual(
      ['already_claimed', 'already_claimed'],
    );
  });

  it('expiry: a pending job lives until grant TTL + grace, then expires', async () => {
    const { jobId } = await setup();
    const jobs = get(JobsService);
    now += 14_000; // TTL 10 s + grace 5 s not yet over
    await get(Sweeper).sweep();
    expect((await jobs.get(jobId))!.state).toBe('pending');
    now += 2_000;
    await get(Sweeper).sweep();
    expect(await jobs.get(jobId)).toMatchObject({ state: 'expired', error: { code: 'expired' } });
  });

  it('agent_lost: a claimed job fails once its machine misses 3 heartbeat intervals', async () => {
    const { user, machines, jobId } = await setup();
    await get(SignalingService).offer(user, jobId, OFFER);
    await get(AgentsService).claim(machines[0]!, jobId);
    const jobs = get(JobsService);
    now += 25_000; // other machines keep beating; machine 0 is silent
    for (const m of machines.slice(1)) await get(MachinesService).heartbeat(m.machineId, heartbeat());
    await get(Sweeper).sweep();
    expect((await jobs.get(jobId))!.state).toBe('assigned');
    now += 6_000; // 31 s > 3 × 10 s
    await get(Sweeper).sweep();
    expect(await jobs.get(jobId)).toMatchObject({ state: 'failed', error: { code: 'agent_lost' } });
  });

  it('rotates the signing key when it is due and keeps the old one published', async () => {
    const keys = get(SigningKeysService);
    const before = (await keys.jwks()).keys.map((k) => k.kid);
    expect(await keys.rotateIfDue()).toBe(false);
    now += 25 * 3600_000; // SIGNING_KEY_ROTATE_HOURS defaults to 24
    await get(Sweeper).sweep();
    const after = (await keys.jwks()).keys.map((k) => k.kid);
    expect(after).toHaveLength(before.length + 1);
    expect(after.slice(1)).toEqual(before);
    expect((await keys.signer()).kid).toBe(after[0]);
    now += 120_000; // longer than any grant the old key signed can live
    expect((await keys.jwks()).keys.map((k) => k.kid)).toEqual([after[0]]);
  });
});
