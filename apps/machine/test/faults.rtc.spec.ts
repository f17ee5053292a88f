import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  TransferInterruptedError,
  attachToJob,
  loopbackRtcConfig,
  startRemoteSession,
  type RemoteSession,
} from '@aegis/peer';
import type { LogLine } from '@aegis/protocol';
import { createMachineToken, startApi } from '@aegis/testkit/api';
import { startMachine } from '@aegis/testkit/machine';
import { fixtureFirmware } from './fixtures/fixture-backend.mjs';
import { eventually, getJob, startInProcessMachine, startTestApi, type InProcessMachine } from './harness.js';
import { fixtureProject } from './tar-writer.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('faults', () => {
  const cleanup: (() => Promise<unknown>)[] = [];
  afterAll(async () => {
    for (const c of cleanup.reverse()) await c().catch(() => undefined);
  });

  it('the API stops during a build: the build finishes, the client still gets its firmware, the state is reported later', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'aegis-api-restart-'));
    cleanup.push(async () => rmSync(dataDir, { recursive: true, force: true }));
    let api = await startTestApi({ dataDir });
    const port = new URL(api.url).port;
    const machine = await startInProcessMachine(api);
    cleanup.push(() => machine.stop());
    const s = await startRemoteSession({ baseUrl: api.url, apiKey: api.userKey, rtcConfig: loopbackRtcConfig });
    cleanup.push(() => s.close());
    await s.espctl!.uploadProject(fixtureProject({ lines: 30, delayMs: 60, firmwareBytes: 500_000 }));
    await s.espctl!.call('build.start', {});
    await api.stop();
    const done = await s.espctl!.waitForBuild();
    expect(done.state).toBe('succeeded');
    const fw = await s.firmware!.fetch('app.bin');
    expect(fw.sha256).toBe(sha(fixtureFirmware(500_000)));
    // The API comes back on the same address and database; the machine reports the outcome it missed.
    const userKey = api.userKey;
    api = Object.assign(await startApi({ dataDir, env: { PORT: port } }), { userKey });
    cleanup.push(() => api.stop());
    const job = await eventually(
      () => getJob(api, userKey, s.jobId),
      (j) => j.state === 'succeeded',
      40_000,
    );
    expect(job.exit_code).toBe(0);
  });

  describe('client drops and reattaches', () => {
    let api: Awaited<ReturnType<typeof startTestApi>>;
    let machine: InProcessMachine;
    beforeAll(async () => {
      api = await startTestApi();
      machine = await startInProcessMachine(api);
      cleanup.push(
        () => api.stop(),
        () => machine.stop(),
      );
    });
    const attach = (jobId: string) =>
      attachToJob({ baseUrl: api.url, apiKey: api.userKey, jobId, rtcConfig: loopbackRtcConfig });

    it('the build keeps running; the reattached client reads the whole log from seq 0 and the firmware', async () => {
      const s = await startRemoteSession({ baseUrl: api.url, apiKey: api.userKey, rtcConfig: loopbackRtcConfig });
      await s.espctl!.uploadProject(fixtureProject({ lines: 40, delayMs: 40, firmwareBytes: 2 * 1024 * 1024 }));
      await s.espctl!.call('build.start', {});
      await s.close();

      const a = await attach(s.jobId);
      cleanup.push(() => a.close());
      expect(a.machineId).toBe(machine.machineId);
      const done = await a.espctl!.waitForBuild();
      expect(done.state).toBe('succeeded');
      const lines: LogLine[] = [];
      for (let seq = 0, more = true; more;) {
        const r = await a.espctl!.call('log.read', { since_seq: seq, limit: 7 });
        lines.push(...r.lines);
        seq = r.next_seq;
        more = r.more;
      }
      expect(lines.map((l) => l.seq)).toEqual(Array.from({ length: 40 }, (_, i) => i));
      // Attach sessions read; they cannot start builds.
      await expect(a.espctl!.call('build.start', {})).rejects.toMatchObject({ code: -32601 });

      // Drop in the middle of the firmware, reattach, resume from the bytes already here.
      const expected = fixtureFirmware(2 * 1024 * 1024);
      let closing: Promise<void> | undefined;
      const err = await a
        .firmware!.fetch('app.bin', {
          onProgress: (got) => {
            if (got > 600_000 && !closing) closing = a.close();
          },
        })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TransferInterruptedError);
      const partial = (err as TransferInterruptedError).partial;
      expect(partial.length).toBeGreaterThan(600_000);
      expect(partial.length).toBeLessThan(expected.length);
      expect(Buffer.from(partial).equals(expected.subarray(0, partial.length))).toBe(true);

      const b = await attach(s.jobId);
      cleanup.push(() => b.close());
      const fw = await b.firmware!.fetch('app.bin', { resumeFrom: partial });
      expect(Buffer.from(fw.data).equals(expected)).toBe(true);
      const job = await getJob(api, api.userKey, s.jobId);
      expect(job.state).toBe('succeeded');
    });

    it('another user cannot attach to the job', async () => {
      const s = await startRemoteSession({ baseUrl: api.url, apiKey: api.userKey, rtcConfig: loopbackRtcConfig });
      cleanup.push(() => s.close());
      const { createUser } = await import('@aegis/testkit/api');
      const stranger = await createUser(api.url, api.adminKey);
      const err = await attachToJob({
        baseUrl: api.url,
        apiKey: stranger,
        jobId: s.jobId,
        rtcConfig: loopbackRtcConfig,
      }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: expect.any(String) });
    });
  });

  it('the machine process is killed: the API marks the job agent_lost', async () => {
    const api = await startTestApi({ env: { HEARTBEAT_INTERVAL_SECS: '1' } });
    cleanup.push(() => api.stop());
    const { token } = await createMachineToken(api.url, api.adminKey, 'doomed');
    const machine = await startMachine({
      apiUrl: api.url,
      token,
      jwksPath: api.jwksPath,
      entry: fileURLToPath(new URL('./fixtures/machine-process.mjs', import.meta.url)),
    });
    cleanup.push(() => machine.stop());
    const s = await startRemoteSession({ baseUrl: api.url, apiKey: api.userKey, rtcConfig: loopbackRtcConfig });
    cleanup.push(() => s.close());
    await s.espctl!.uploadProject(fixtureProject({ lines: 1000, delayMs: 50 }));
    await s.espctl!.call('build.start', {});
    await eventually(
      () => getJob(api, api.userKey, s.jobId),
      (j) => j.state === 'running',
      10_000,
    );
    machine.kill('SIGKILL');
    const job = await eventually(
      () => getJob(api, api.userKey, s.jobId),
      (j) => j.state === 'failed',
      30_000,
    );
    expect(job.error?.code).toBe('agent_lost');
    expect(machine.output.join('\n')).not.toContain(token);
  });
});

describe('limiter', () => {
  let api: Awaited<ReturnType<typeof startTestApi>>;
  let machine: InProcessMachine;
  let s: RemoteSession;
  beforeAll(async () => {
    api = await startTestApi({ env: { GRANT_MAX_BANDWIDTH_KBPS: '800' } });
    machine = await startInProcessMachine(api);
    s = await startRemoteSession({ baseUrl: api.url, apiKey: api.userKey, rtcConfig: loopbackRtcConfig });
  });
  afterAll(async () => {
    await s?.close();
    await machine?.stop();
    await api?.stop();
  });

  it('a firmware transfer at max_bandwidth_kbps = 800 takes the expected time ±15%, nothing lost', async () => {
    expect(s.claims?.max_bandwidth_kbps).toBe(800);
    const size = 400_000;
    await s.espctl!.uploadProject(fixtureProject({ lines: 1, firmwareBytes: size }));
    await s.espctl!.call('build.start', {});
    await s.espctl!.waitForBuild();
    const t0 = performance.now();
    const fw = await s.firmware!.fetch('app.bin');
    const elapsed = performance.now() - t0;
    expect(Buffer.from(fw.data).equals(fixtureFirmware(size))).toBe(true);
    const expectedMs = (size / ((800 * 1000) / 8)) * 1000;
    const ratio = elapsed / expectedMs;
    expect(ratio).toBeGreaterThan(0.85);
    expect(ratio).toBeLessThan(1.15);
  });
});
