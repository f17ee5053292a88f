import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { GrantClaims, GrantRequest, type GrantRequestParsed, type SignalingEvent } from '@aegis/protocol';
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
import { EventStore, toWire } from '../src/signaling/event-store.js';
import { UsersService } from '../src/users/users.service.js';
import { SigningKeysService } from '../src/grants/signing-keys.service.js';
import { JobQueue } from '../src/scheduling/job-queue.js';
import { jobView } from '../src/views.js';
import type { MachinePrincipal, UserPrincipal } from '../src/auth/principal.js';
import { FINGERPRINT, heartbeat, OFFER, PG_URL } from './http.js';

/** Polls `check` (real time) until it holds: for effects of an HTTP connection closing, which come asynchronously. */
async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 250; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`never happened: ${what}`);
}

/** The queue with the real services and database (both drivers), and a clock the test moves. */
for (const db of ['sqlite', 'postgres'] as const) {
  describe(`the build queue (${db}, in process)`, () => {
    let now = Date.parse('2026-12-06T10:00:00Z');
    const clock = { now: () => now };
    let server: Server;
    let dir: string;
    const schema = `q_${randomBytes(4).toString('hex')}`;
    const get = <T>(t: new (...a: never[]) => T) => server.app.get(t as never) as T;

    beforeAll(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aegis-queue-'));
      const cfg = loadConfig({
        PORT: '0',
        AEGIS_DATA_DIR: dir,
        HEARTBEAT_INTERVAL_SECS: '10',
        PENDING_GRACE_SECS: '5',
        USER_MAX_CONCURRENT_JOBS: '2',
        USER_MAX_QUEUED_JOBS: '6',
        QUEUE_CLIENT_GRACE_SECS: '5',
        ...(db === 'postgres' ? { DATABASE_URL: PG_URL, DATABASE_SCHEMA: schema } : {}),
      });
      server = await startServer(cfg, createLogger('silent'), { clock, workers: false });
    });
    afterAll(async () => {
      await server?.close();
      fs.rmSync(dir, { recursive: true, force: true });
      if (db === 'postgres') {
        const c = new pg.Client({ connectionString: PG_URL });
        await c.connect();
        await c.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
        await c.end();
      }
    });

    // Each test starts with an empty queue and no machine online: earlier tests' machines fall silent.
    beforeEach(async () => {
      now += 3600_000;
      await get(Sweeper).sweep();
      const left = await get(JobsService).repo.find({ where: { state: 'pending' } });
      for (const j of left) await get(JobsService).transition(j.id, 'pending', 'expired');
    });

    const user = async (role: 'user' | 'admin' = 'user'): Promise<UserPrincipal> => {
      const { secret } = await get(UsersService).createUser(`u-${Math.random()}`, role);
      return (await get(AuthService).user(secret)) as UserPrincipal;
    };
    const machine = async (over: Parameters<typeof heartbeat>[0] = {}): Promise<MachinePrincipal> => {
      const name = `m-${Math.random()}`;
      const { machine: m } = await get(MachinesService).create(name);
      await get(MachinesService).heartbeat(m.id, heartbeat({ name, ...over }));
      return { kind: 'machine', machineId: m.id, name } as MachinePrincipal;
    };
    const oneSlot = { capacity: { total_slots: 1, free_slots: 1, cpu_cores: 8, memory_mb: 16384 } };
    /** Grant request + offer: the job joins the queue. */
    const submit = async (u: UserPrincipal, over: Partial<GrantRequestParsed> = {}) => {
      const g = await get(GrantsService).request(
        u,
        GrantRequest.parse({ peer_fingerprint: FINGERPRINT, required_channels: ['espctl'], ttl_secs: 10, ...over }),
      );
      now += 1;
      await get(SignalingService).offer(u, g.job_id, OFFER);
      return g.job_id;
    };
    /** What a machine polling with `free` slots is offered right now. */
    const offered = async (m: MachinePrincipal, free = 1) =>
      (await get(AgentsService).poll(m, 0, new AbortController().signal, free)).map((o) => o.job_id);
    /** The machine runs the head of the queue to the end; returns its id. */
    const runNext = async (m: MachinePrincipal): Promise<string> => {
      const [id] = await offered(m);
      expect(id).toBeDefined();
      await get(AgentsService).claim(m, id!);
      await get(AgentsService).report(m, id!, { state: 'running' });
      now += 1000;
      await get(AgentsService).report(m, id!, { state: 'succeeded', exit_code: 0 });
      return id!;
    };
    const clientEvents = async (jobId: string): Promise<SignalingEvent[]> => {
      await get(JobQueue).settled();
      return (await get(EventStore).clientEvents([jobId], 0)).map(toWire);
    };

    it('queues instead of refusing, and runs two users interleaved on one slot in fair turns', async () => {
      const m = await machine(oneSlot);
      const [a, b] = [await user(), await user()];
      // a submits three builds before b's three: b must not wait for all of a's.
      const ids: Record<string, string> = {};
      for (const n of [1, 2, 3]) ids[`a${n}`] = await submit(a);
      for (const n of [1, 2, 3]) ids[`b${n}`] = await submit(b);
      const name = new Map(Object.entries(ids).map(([k, v]) => [v, k]));
      const order: string[] = [];
      for (let i = 0; i < 6; i++) order.push(name.get(await runNext(m))!);
      expect(order).toEqual(['a1', 'b1', 'a2', 'b2', 'a3', 'b3']);
      expect(await offered(m)).toEqual([]);
    });

    it('counts turns since the queue formed, not since its oldest waiting job arrived', async () => {
      const m = await machine(oneSlot);
      const [a, b, c] = [await user(), await user(), await user()];
      const a1 = await submit(a);
      const b1 = await submit(b);
      expect(await runNext(m)).toBe(a1); // a's turn; b1 still waits, so the queue never empties
      const a2 = await submit(a);
      const c1 = await submit(c);
      expect(await runNext(m)).toBe(b1);
      // a already had a turn in this spell, c none: c goes first although a2 is older (and newer than a's turn).
      expect(await offered(m)).toEqual([c1]);
      await runNext(m);
      expect(await offered(m)).toEqual([a2]);
    });

    it('takes admin-set priority first', async () => {
      const m = await machine(oneSlot);
      const [u, admin] = [await user(), await user('admin')];
      const low = await submit(u);
      const high = await submit(admin, { priority: 5 });
      expect(await offered(m)).toEqual([high]);
      await runNext(m);
      expect(await offered(m)).toEqual([low]);
    });

    it('offers a machine only as many builds as it says are free, and none at free=0', async () => {
      const m = await machine({ capacity: { total_slots: 2, free_slots: 2, cpu_cores: 8, memory_mb: 16384 } });
      const u = await user();
      const ids = [await submit(u), await submit(u), await submit(u)];
      expect(await offered(m, 0)).toEqual([]);
      expect(await offered(m, 1)).toEqual([ids[0]]);
      expect(await offered(m, 2)).toEqual(ids.slice(0, 2));
    });

    it('tells each waiting client its place and an estimate (state events and REST view), and moves it up', async () => {
      const m = await machine(oneSlot);
      const u = await user();
      await submit(u);
      await runNext(m); // one finished build: the estimate has a build time to go by
      const [j1, j2, j3] = [await submit(u), await submit(u), await submit(u)];
      const places = await get(JobQueue).positions();
      expect(places.get(j1)).toMatchObject({ position: 1 });
      expect(places.get(j3)).toMatchObject({ position: 3 });
      expect(places.get(j3)!.estimate_secs).toBeGreaterThan(places.get(j1)!.estimate_secs!);
      const before = (await clientEvents(j3)).filter((e) => e.type === 'state');
      expect(before.at(-1)).toMatchObject({ state: 'pending', queue: { position: 3 } });
      await runNext(m);
      const after = (await clientEvents(j3)).filter((e) => e.type === 'state');
      expect(after.at(-1)).toMatchObject({ state: 'pending', queue: { position: 2 } });
      expect(await get(JobQueue).infoOf((await get(JobsService).get(j2))!)).toMatchObject({ position: 1 });
    });

    it('cancels a queued job: it leaves the queue and the jobs behind move up', async () => {
      const m = await machine(oneSlot);
      const u = await user();
      const [j1, j2] = [await submit(u), await submit(u)];
      const canceled = await get(JobsService).cancel(j1, u);
      expect(canceled).toMatchObject({ state: 'canceled', error: { code: 'canceled' } });
      expect(await offered(m)).toEqual([j2]);
      await expect(get(AgentsService).claim(m, j1)).rejects.toMatchObject({ code: 'already_claimed' });
      expect((await clientEvents(j2)).filter((e) => e.type === 'state').at(-1)).toMatchObject({
        queue: { position: 1 },
      });
    });

    it('signs the grant when a machine claims the job: valid after a wait longer than its TTL', async () => {
      const m = await machine(oneSlot);
      const u = await user();
      const busy = await submit(u);
      await get(AgentsService).claim(m, busy);
      const waiting = await submit(u);
      now += 120_000; // 12 × the 10 s TTL, the machine beating meanwhile
      await get(MachinesService).heartbeat(m.machineId, heartbeat({ ...oneSlot, running_job_ids: [busy] }));
      await get(Sweeper).sweep();
      expect((await get(JobsService).get(waiting))!.state).toBe('pending');
      await get(AgentsService).report(m, busy, { state: 'succeeded', exit_code: 0 });
      const claim = await get(AgentsService).claim(m, waiting);
      const jwks = createLocalJWKSet((await get(SigningKeysService).jwks()) as never);
      const { payload } = await jwtVerify(claim.grant, jwks, {
        audience: 'aegis-machine',
        currentDate: new Date(now),
      });
      const claims = GrantClaims.parse(payload);
      expect(claims.job_id).toBe(waiting);
      expect(claims.iat).toBe(Math.floor(now / 1000));
      expect(claims.exp - claims.iat).toBe(10);
    });

    it('places by (IDF version, target) pairs: a job goes only to a machine that builds that pair', async () => {
      const pairsOnly = await machine({
        ...oneSlot,
        idf_versions: ['5.1.6', '5.3.1'],
        targets: ['esp32', 'esp32c3'],
        builds: [
          { idf_version: '5.1.6', target: 'esp32' },
          { idf_version: '5.3.1', target: 'esp32c3' },
        ],
      });
      const u = await user();
      await expect(submit(u, { idf_version: '5.3.1', target: 'esp32' })).rejects.toMatchObject({
        code: 'no_machine',
      });
      const full = await machine({
        ...oneSlot,
        idf_versions: ['5.3.1'],
        targets: ['esp32'],
        builds: [{ idf_version: '5.3.1', target: 'esp32' }],
      });
      const id = await submit(u, { idf_version: '5.3.1', target: 'esp32' });
      expect(await offered(pairsOnly)).toEqual([]);
      expect(await offered(full)).toEqual([id]);
    });

    it('a machine killed with jobs queued: they go to another machine; its running job fails agent_lost once', async () => {
      const m1 = await machine(oneSlot);
      const u = await user();
      const running = await submit(u);
      await get(AgentsService).claim(m1, running);
      await get(AgentsService).report(m1, running, { state: 'running' });
      const queued = await submit(u);
      expect(await offered(m1, 0)).toEqual([]);
      const m2 = await machine(oneSlot);
      now += 31_000; // m1 silent for more than 3 heartbeat intervals; m2 beats
      await get(MachinesService).heartbeat(m2.machineId, heartbeat(oneSlot));
      await get(Sweeper).sweep();
      await get(Sweeper).sweep();
      // m1 comes back and reports it lost the job: still one failure.
      await get(AgentsService).heartbeat(m1, heartbeat({ ...oneSlot, running_job_ids: [] }));
      expect(await get(JobsService).get(running)).toMatchObject({
        state: 'failed',
        error: { code: 'agent_lost', message: expect.stringMatching(/stopped responding/) },
      });
      const events = await clientEvents(running);
      expect(events.filter((e) => e.type === 'error')).toHaveLength(1);
      expect(events.filter((e) => e.type === 'state' && e.state === 'failed')).toHaveLength(1);
      expect(await offered(m2)).toEqual([queued]);
    });

    it('records when a machine deleted a job’s results, and refuses to reattach with a rebuild hint', async () => {
      const m = await machine(oneSlot);
      const u = await user();
      await submit(u);
      const id = await runNext(m);
      now += 5000;
      await get(AgentsService).heartbeat(m, heartbeat({ ...oneSlot, expired_job_ids: [id] }));
      expect((await get(JobsService).get(id))!.resultsExpiredAt).toBe(now);
      await expect(
        get(GrantsService).request(
          u,
          GrantRequest.parse({ peer_fingerprint: FINGERPRINT, required_channels: ['espctl'], attach_to_job_id: id }),
        ),
      ).rejects.toMatchObject({ code: 'results_expired', message: expect.stringMatching(/run the build again/) });
    });

    it('queues past the running limit: 5 builds of one user wait, 2 (USER_MAX_CONCURRENT_JOBS) run, others go ahead', async () => {
      const m = await machine({ capacity: { total_slots: 4, free_slots: 4, cpu_cores: 8, memory_mb: 16384 } });
      const [a, b] = [await user(), await user()];
      const as: string[] = [];
      for (let i = 0; i < 5; i++) as.push(await submit(a)); // none refused
      expect(await offered(m, 4)).toEqual(as.slice(0, 2));
      const b1 = await submit(b);
      expect(await offered(m, 4)).toEqual([as[0], b1, as[1]]); // b's first turn comes before a's second
      for (const id of as.slice(0, 2)) await get(AgentsService).claim(m, id);
      // The claim itself holds the limit, whichever machine or API instance tries.
      await expect(get(AgentsService).claim(m, as[2]!)).rejects.toMatchObject({ code: 'user_at_limit' });
      expect(await offered(m, 2)).toEqual([b1]);
      await get(AgentsService).report(m, as[0]!, { state: 'running' });
      await get(AgentsService).report(m, as[0]!, { state: 'succeeded', exit_code: 0 });
      // a had two turns since the queue formed, b none: b first, then a's next.
      expect(await offered(m, 2)).toEqual([b1, as[2]]);
      expect((await get(JobsService).get(as[4]!))!.state).toBe('pending');
    });

    it('caps the jobs one user may have waiting (USER_MAX_QUEUED_JOBS) with an error that says what to do', async () => {
      await machine({ ...oneSlot, capacity: { ...oneSlot.capacity, free_slots: 0 } });
      const u = await user();
      const ids: string[] = [];
      for (let i = 0; i < 6; i++) ids.push(await submit(u));
      const full = submit(u);
      await expect(full).rejects.toMatchObject({
        status: 429,
        code: 'queue_full',
        message: expect.stringMatching(/6 jobs waiting.*limit 6.*cancel/),
      });
      await get(JobsService).cancel(ids[0]!, u);
      expect(await submit(u)).toMatch(/^[0-9a-f-]{36}$/);
      // Another user is not held back by this one's queue.
      expect(await submit(await user())).toMatch(/^[0-9a-f-]{36}$/);
    });

    it('places each job by the turns before it on the machines that build its pair; estimates from that pair’s median', async () => {
      const pair = (target: 'esp32' | 'esp32c3') => ({
        ...oneSlot,
        idf_versions: ['5.1.6'],
        targets: [target],
        builds: [{ idf_version: '5.1.6', target }],
      });
      const c3 = await machine(pair('esp32c3'));
      const e32 = await machine(pair('esp32'));
      const C3 = { idf_version: '5.1.6', target: 'esp32c3' } as const;
      const E32 = { idf_version: '5.1.6', target: 'esp32' } as const;
      const [a, b] = [await user(), await user()];
      /** Claim on `m`, run for `secs` (by the test clock), succeed. */
      const build = async (m: MachinePrincipal, id: string, secs: number) => {
        await get(AgentsService).claim(m, id);
        await get(AgentsService).report(m, id, { state: 'running' });
        now += secs * 1000;
        await get(AgentsService).report(m, id, { state: 'succeeded', exit_code: 0 });
      };
      await build(c3, await submit(a, C3), 20);
      await build(e32, await submit(b, E32), 25);
      now += 11_000; // past the estimate's cache of recent build times
      for (const [m, t] of [
        [c3, 'esp32c3'],
        [e32, 'esp32'],
      ] as const)
        await get(MachinesService).heartbeat(m.machineId, heartbeat({ name: m.name, ...pair(t) }));
      // The C3 machine is busy with a's build that just started (expected to end 20 s after it started).
      const x = await submit(a, C3);
      await get(AgentsService).claim(c3, x);
      now += 1000; // x took its turn before the queue formed (so it is not a turn a had in this queue)
      const a1 = await submit(a, C3);
      const a2 = await submit(a, C3);
      const b1 = await submit(b, C3);
      const e1 = await submit(b, E32);
      const q = await get(JobQueue).positions();
      // Round-robin: a1, then b's turn, then a's second; the esp32 job does not compete for the C3 machine.
      expect(q.get(a1)).toMatchObject({
        position: 1,
        ahead: 0,
        estimate_secs: 19,
        capable_slots: 1,
        median_build_secs: 20,
      });
      expect(q.get(b1)).toMatchObject({ position: 2, ahead: 1, estimate_secs: 39 });
      expect(q.get(a2)).toMatchObject({ position: 3, ahead: 2, estimate_secs: 59 });
      expect(q.get(e1)).toMatchObject({ position: 1, ahead: 0, estimate_secs: 0, median_build_secs: 25 });
      // The same in the client's signaling stream and the REST view.
      const last = (await clientEvents(a2)).filter((e) => e.type === 'state').at(-1);
      expect(last).toMatchObject({ state: 'pending', queue: { position: 3, ahead: 2, estimate_secs: 59 } });
      expect(
        jobView((await get(JobsService).get(b1))!, await get(JobQueue).infoOf((await get(JobsService).get(b1))!)),
      ).toMatchObject({ queue: { position: 2, estimate_secs: 39 } });
    });

    it('tells places that are the order machines really take the jobs (a burst from many users, 3 machines)', async () => {
      const ms = [await machine(oneSlot), await machine(oneSlot), await machine(oneSlot)];
      const users = [];
      for (let i = 0; i < 5; i++) users.push(await user());
      const ids: string[] = [];
      // Users arrive unevenly: the first submits all four before the others start.
      for (const u of users) for (let k = 0; k < 4; k++) ids.push(await submit(u));
      const told = await get(JobQueue).positions();
      const predicted = [...ids].sort((x, y) => told.get(x)!.ahead! - told.get(y)!.ahead!);
      expect(new Set(ids.map((id) => told.get(id)!.ahead)).size).toBe(ids.length);
      const taken: string[] = [];
      const running: Array<{ m: MachinePrincipal; id: string }> = [];
      while (taken.length < ids.length) {
        for (const m of ms) {
          if (running.some((r) => r.m === m)) continue;
          const [id] = await offered(m);
          if (!id) continue;
          await get(AgentsService).claim(m, id);
          await get(AgentsService).report(m, id, { state: 'running' });
          taken.push(id);
          running.push({ m, id });
        }
        now += 1000;
        const done = running.shift()!;
        await get(AgentsService).report(done.m, done.id, { state: 'succeeded', exit_code: 0 });
      }
      expect(taken).toEqual(predicted);
    });

    /** Opens the job's signaling stream over HTTP as its owner; resolves once the server answered. */
    const openStream = async (jobId: string, key: string) => {
      const ctl = new AbortController();
      const res = await fetch(`${server.url}/signaling/${jobId}/events`, {
        headers: { authorization: `Bearer ${key}` },
        signal: ctl.signal,
      });
      expect(res.status).toBe(200);
      await res.body!.getReader().read(); // the first bytes: the stream is registered
      return { close: () => ctl.abort() };
    };
    const keyedUser = async () => {
      const { secret } = await get(UsersService).createUser(`u-${Math.random()}`, 'user');
      return { key: secret, u: (await get(AuthService).user(secret)) as UserPrincipal };
    };
    const leftAt = async (id: string) => (await get(JobsService).get(id))!.clientLeftAt;

    it('cancels a queued job whose client closed its stream and stayed away past the grace; a reconnect keeps it', async () => {
      const m = await machine(oneSlot);
      const { key, u } = await keyedUser();
      await get(AgentsService).claim(m, await submit(u)); // the only slot is busy
      const [gone, back] = [await submit(u), await submit(u)];
      (await openStream(gone, key)).close();
      (await openStream(back, key)).close();
      await eventually(async () => (await leftAt(gone)) !== null && (await leftAt(back)) !== null, 'marked as left');
      const again = await openStream(back, key); // e.g. a reload or a network blip: within the grace
      await eventually(async () => (await leftAt(back)) === null, 'back again');
      now += 2000;
      await get(Sweeper).sweep();
      expect((await get(JobsService).get(gone))!.state).toBe('pending'); // still within the grace
      now += 4000;
      await get(Sweeper).sweep();
      expect(await get(JobsService).get(gone)).toMatchObject({ state: 'canceled', error: { code: 'client_left' } });
      expect((await get(JobsService).get(back))!.state).toBe('pending');
      expect(await get(JobQueue).infoOf((await get(JobsService).get(back))!)).toMatchObject({ position: 1 });
      again.close();
    });

    it('tells the machine of a claimed job whose client left before connecting (its candidate poll), after the grace', async () => {
      const m = await machine(oneSlot);
      const { key, u } = await keyedUser();
      const id = await submit(u);
      const stream = await openStream(id, key);
      await get(AgentsService).claim(m, id);
      expect(await get(AgentsService).clientCandidates(m, id, 0)).toMatchObject({ candidates: [] });
      stream.close();
      await eventually(async () => (await leftAt(id)) !== null, 'marked as left');
      expect(await get(AgentsService).clientCandidates(m, id, 0)).toMatchObject({ candidates: [] }); // grace
      now += 5000;
      await expect(get(AgentsService).clientCandidates(m, id, 0)).rejects.toMatchObject({
        status: 410,
        code: 'client_left',
      });
      // The machine gives the job up: it ends canceled, and the slot is offered again at once.
      await get(AgentsService).report(m, id, { state: 'canceled', error: { code: 'client_left', message: 'gone' } });
      const next = await submit(u);
      expect(await offered(m)).toEqual([next]);
    });
  });
}
