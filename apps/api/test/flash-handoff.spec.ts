import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import type { OnModuleInit } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FLASH_REQUEST_TTL_SECS, DASHBOARD_POLL_WINDOW_SECS } from '@aegis/protocol';
import type { UserPrincipal } from '../src/auth/principal.js';
import type { JobsService } from '../src/jobs/jobs.service.js';
import { AppError } from '../src/errors.js';
import { FlashHandoffService } from '../src/flash-handoff/flash-handoff.service.js';
import { openDb } from './test-db.js';

const user = (id = randomUUID()): UserPrincipal => ({
  kind: 'user',
  userId: id,
  name: 'u',
  role: 'user',
  keyId: randomUUID(),
});

/** Jobs as the service sees them: owned by one user, in a given state. */
function fakeJobs(jobs: Map<string, { owner: string; state: string }>): JobsService {
  return {
    getOwned: async (id: string, u: UserPrincipal) => {
      const j = jobs.get(id);
      if (!j || j.owner !== u.userId) throw new AppError(404, 'not_found', `Job ${id} does not exist or is not yours.`);
      return { id, state: j.state };
    },
  } as unknown as JobsService;
}

for (const kind of ['sqlite', 'postgres'] as const) {
  describe(`flash hand-off service (${kind})`, () => {
    let db: Awaited<ReturnType<typeof openDb>>;
    let now = Date.parse('2026-11-25T10:00:00Z');
    const jobs = new Map<string, { owner: string; state: string }>();
    let svc: FlashHandoffService;
    const alice = user();
    const bob = user();
    const done = randomUUID();
    const running = randomUUID();

    beforeAll(async () => {
      db = await openDb(kind);
      jobs.set(done, { owner: alice.userId, state: 'succeeded' });
      jobs.set(running, { owner: alice.userId, state: 'running' });
      svc = new FlashHandoffService(db.ds, { now: () => now }, fakeJobs(jobs));
      // The tables come from the migrations (as at API start); a second run (another instance) changes nothing.
      await db.ds.runMigrations({ transaction: 'all' });
      expect(await db.ds.runMigrations({ transaction: 'all' })).toEqual([]);
    });
    afterAll(async () => db?.drop());

    it('creates pending requests only for the user’s own successful jobs', async () => {
      const r = await svc.create(alice, done);
      expect(r).toMatchObject({ job_id: done, status: 'pending', created_at: '2026-11-25T10:00:00.000Z' });
      await expect(svc.create(alice, running)).rejects.toMatchObject({ status: 409, code: 'job_not_succeeded' });
      await expect(svc.create(bob, done)).rejects.toMatchObject({ status: 404 });
    });

    it('a dashboard counts as connected for a while after it polled', async () => {
      expect(await svc.dashboardConnected(alice.userId)).toBe(false);
      const list = await svc.list(alice, 'pending');
      expect(list.map((r) => r.status)).toEqual(['pending']);
      expect(await svc.dashboardConnected(alice.userId)).toBe(true);
      expect(await svc.list(bob, 'pending')).toEqual([]);
      now += (DASHBOARD_POLL_WINDOW_SECS + 1) * 1000;
      expect(await svc.dashboardConnected(alice.userId)).toBe(false);
    });

    it('moves pending → confirmed → done and refuses other moves and other users', async () => {
      const r = await svc.create(alice, done);
      await expect(svc.act(alice, r.id, 'complete')).rejects.toMatchObject({
        status: 409,
        code: 'flash_request_state',
      });
      await expect(svc.act(bob, r.id, 'confirm')).rejects.toMatchObject({ status: 404 });
      expect((await svc.act(alice, r.id, 'confirm')).status).toBe('confirmed');
      await expect(svc.act(alice, r.id, 'confirm')).rejects.toMatchObject({ status: 409 });
      expect((await svc.act(alice, r.id, 'complete')).status).toBe('done');
      await expect(svc.act(alice, r.id, 'reject')).rejects.toMatchObject({ status: 409 });
      const port = svc.forUser(alice);
      expect((await port.get(r.id))?.status).toBe('done');
      expect(await svc.forUser(bob).get(r.id)).toBeUndefined();
    });

    it('a pending request nobody confirms expires', async () => {
      const r = await svc.create(alice, done);
      now += (FLASH_REQUEST_TTL_SECS + 1) * 1000;
      expect((await svc.get(alice, r.id)).status).toBe('expired');
      await expect(svc.act(alice, r.id, 'confirm')).rejects.toMatchObject({ status: 409 });
    });
  });
}

/** The startup DDL the service ran before the tables moved into a migration. */
const OLD_STARTUP_DDL = [
  `CREATE TABLE flash_requests (id VARCHAR(36) PRIMARY KEY, user_id VARCHAR(36) NOT NULL, job_id VARCHAR(36) NOT NULL, status VARCHAR(16) NOT NULL, created_at BIGINT NOT NULL, updated_at BIGINT NOT NULL)`,
  `CREATE INDEX flash_requests_user_status ON flash_requests (user_id, status)`,
  `CREATE TABLE flash_dashboard_polls (user_id VARCHAR(36) PRIMARY KEY, polled_at BIGINT NOT NULL)`,
];

for (const kind of ['sqlite', 'postgres'] as const) {
  describe(`flash hand-off tables (${kind})`, () => {
    it('the service creates no tables itself: without the migrations they are missing', async () => {
      const db = await openDb(kind);
      try {
        const svc = new FlashHandoffService(db.ds, { now: () => 0 }, fakeJobs(new Map()));
        expect((svc as Partial<OnModuleInit>).onModuleInit).toBeUndefined();
        await expect(svc.dashboardConnected(randomUUID())).rejects.toThrow(/flash_dashboard_polls/);
        expect(await db.ds.createQueryRunner().hasTable('flash_requests')).toBe(false);
      } finally {
        await db.drop();
      }
    });

    it('the migration keeps tables and rows a database got from the old startup DDL', async () => {
      const db = await openDb(kind);
      try {
        await db.ds.runMigrations({ transaction: 'all' });
        // Roll back to before the hand-off migration, then recreate its tables the old way, with a row in them.
        const qr = db.ds.createQueryRunner();
        while (await qr.hasTable('flash_requests')) await db.ds.undoLastMigration({ transaction: 'all' });
        for (const s of OLD_STARTUP_DDL) await db.ds.query(s);
        const u = randomUUID();
        await db.ds.query(`INSERT INTO flash_dashboard_polls (user_id, polled_at) VALUES ('${u}', 1234)`);
        const ran = await db.ds.runMigrations({ transaction: 'all' });
        expect(ran[0]?.name).toBe('FlashHandoff1764000000002');
        const svc = new FlashHandoffService(db.ds, { now: () => 1234 }, fakeJobs(new Map()));
        expect(await svc.dashboardConnected(u)).toBe(true);
        await qr.release();
      } finally {
        await db.drop();
      }
    });
  });
}
