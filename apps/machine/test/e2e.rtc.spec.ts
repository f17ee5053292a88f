import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loopbackRtcConfig, startRemoteSession, type RemoteSession } from '@aegis/peer';
import type { LogLine } from '@aegis/protocol';
import { fixtureFirmware } from './fixtures/fixture-backend.mjs';
import { eventually, getJob, startInProcessMachine, startTestApi, type InProcessMachine } from './harness.js';
import { fixtureProject } from './tar-writer.js';

describe('client ↔ machine over loopback through the real API', () => {
  let api: Awaited<ReturnType<typeof startTestApi>>;
  let machine: InProcessMachine;
  const sessions: RemoteSession[] = [];

  beforeAll(async () => {
    api = await startTestApi();
    machine = await startInProcessMachine(api);
  });
  afterAll(async () => {
    await Promise.all(sessions.map((s) => s.close()));
    await machine?.stop();
    await api?.stop();
  });

  it('connects, uploads, builds, streams logs without gaps and delivers verified firmware', async () => {
    const s = await startRemoteSession({ baseUrl: api.url, apiKey: api.userKey, rtcConfig: loopbackRtcConfig });
    sessions.push(s);
    expect(s.machineId).toBe(machine.machineId);
    const lines: LogLine[] = [];
    s.espctl!.on('log', (l) => lines.push(l));
    const up = await s.espctl!.uploadProject(fixtureProject({ lines: 120, firmwareBytes: 300_000 }));
    expect(up.files).toBe(3);
    const started = await s.espctl!.call('build.start', { target: 'esp32c3' });
    expect(started.state).toBe('running');
    const done = await s.espctl!.waitForBuild();
    expect(done).toMatchObject({ state: 'succeeded', exit_code: 0 });
    await eventually(
      async () => lines.length,
      (n) => n >= 120,
      5000,
    );
    expect(lines.map((l) => l.seq)).toEqual(Array.from({ length: 120 }, (_, i) => i));
    expect(lines[0].text).toContain('[1/120]');
    const replay = await s.espctl!.call('log.read', { since_seq: 100 });
    expect(replay.lines.map((l) => l.seq)).toEqual(Array.from({ length: 20 }, (_, i) => 100 + i));
    const { artifacts } = await s.espctl!.call('artifacts.list', {});
    expect(artifacts.map((a) => a.name)).toEqual(['app.bin']);
    const fw = await s.firmware!.fetch('app.bin');
    const expected = fixtureFirmware(300_000);
    expect(fw.sha256).toBe(createHash('sha256').update(expected).digest('hex'));
    expect(Buffer.from(fw.data).equals(expected)).toBe(true);
    const job = await eventually(
      () => getJob(api, api.userKey, s.jobId),
      (j) => j.state === 'succeeded',
    );
    expect(job.sizes).toEqual({ app: 300_000 });
  });

  it('connects with the product defaults: grant ICE servers only, no STUN at all, bound by AEGIS_RTC_INTERFACE', async () => {
    process.env.AEGIS_RTC_INTERFACE = '127.0.0.1';
    try {
      const s = await startRemoteSession({ baseUrl: api.url, apiKey: api.userKey });
      sessions.push(s);
      expect(s.grant.ice_servers).toEqual([]);
      const sdp = s.pc.localDescription!.sdp;
      expect(sdp).toMatch(/a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 \d+ typ host/);
      expect(sdp).not.toMatch(/typ srflx/);
      expect((await s.espctl!.call('build.status', {})).state).toBe('assigned');
      expect(s.timings.grantToOpenMs).toBeGreaterThan(0);
    } finally {
      delete process.env.AEGIS_RTC_INTERFACE;
    }
  });
});
