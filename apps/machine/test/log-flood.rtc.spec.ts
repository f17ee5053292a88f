import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loopbackRtcConfig, startRemoteSession, type RemoteSession } from '@aegis/peer';
import type { LogLine, MachineListResponse } from '@aegis/protocol';
import { createUser } from '@aegis/testkit/api';
import { createFloodBackend } from './fixtures/flood-backend.js';
import { eventually, getJob, startInProcessMachine, startTestApi, type InProcessMachine } from './harness.js';
import { fixtureProject, makeTar } from './tar-writer.js';

const FLOOD = 2_000_000;

const floodProject = (n: number) =>
  makeTar([
    { name: 'main/', type: '5' },
    { name: 'main/main.c', data: 'int main(void) { return 0; }\n' },
    { name: 'CMakeLists.txt', data: 'cmake_minimum_required(VERSION 3.16)\n' },
    { name: 'fixture.json', data: JSON.stringify({ flood: n }) },
  ]);

/** Every `online` the API reports for the machine, polled until stopped (a failed poll counts as offline). */
function watchOnline(api: { url: string; adminKey: string }, machineId: string) {
  const seen: boolean[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      try {
        const res = await fetch(`${api.url}/machines`, { headers: { authorization: `Bearer ${api.adminKey}` } });
        const body = (await res.json()) as MachineListResponse;
        seen.push(body.machines.find((x) => x.id === machineId)?.online ?? false);
      } catch {
        seen.push(false);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  return {
    seen,
    async stop() {
      stopped = true;
      await loop;
    },
  };
}

describe('a build printing 2,000,000 lines does not take the machine offline', () => {
  let api: Awaited<ReturnType<typeof startTestApi>>;
  let machine: InProcessMachine;
  const sessions: RemoteSession[] = [];

  beforeAll(async () => {
    // A heartbeat every 2 s, offline after 6 s: a stalled event loop shows within seconds (before the fix, this
    // flood stalled the machine for well over a minute), with room for a busy test host.
    api = await startTestApi({ env: { HEARTBEAT_INTERVAL_SECS: '2' } });
    machine = await startInProcessMachine(api, { backend: createFloodBackend() });
  });
  afterAll(async () => {
    await Promise.all(sessions.map((s) => s.close().catch(() => undefined)));
    await machine?.stop();
    await api?.stop();
  });

  it(
    'the flood stays within its log cap, another user’s build completes, heartbeats keep coming, slots come back',
    { timeout: 180_000 },
    async () => {
      const online = watchOnline(api, machine.machineId);
      try {
        // The attacker: one build, two million lines.
        const a = await startRemoteSession({ baseUrl: api.url, apiKey: api.userKey, rtcConfig: loopbackRtcConfig });
        sessions.push(a);
        const aLines: LogLine[] = [];
        let aFrames = 0;
        a.espctl!.on('logs', (lines) => {
          aFrames++;
          for (const l of lines) aLines.push(l);
        });
        await a.espctl!.uploadProject(floodProject(FLOOD));
        expect((await a.espctl!.call('build.start', { target: 'esp32c3' })).state).toBe('running');

        // Another user builds normally on the same machine while the flood runs.
        const otherKey = await createUser(api.url, api.adminKey);
        const b = await startRemoteSession({ baseUrl: api.url, apiKey: otherKey, rtcConfig: loopbackRtcConfig });
        sessions.push(b);
        expect(b.machineId).toBe(machine.machineId);
        const bLines: LogLine[] = [];
        b.espctl!.on('log', (l) => bLines.push(l));
        await b.espctl!.uploadProject(fixtureProject({ lines: 200 }));
        await b.espctl!.call('build.start', { target: 'esp32c3' });
        expect(await b.espctl!.waitForBuild()).toMatchObject({ state: 'succeeded', exit_code: 0 });
        await eventually(
          async () => bLines.length,
          (n) => n >= 200,
          10_000,
        );
        expect(bLines.map((l) => l.seq)).toEqual(Array.from({ length: 200 }, (_, i) => i));

        const aDone = await a.espctl!.waitForBuild();
        expect(aDone).toMatchObject({ state: 'succeeded', exit_code: 0 });
        // Statuses follow their lines: everything up to the final status' next_seq has arrived by now.
        await eventually(
          async () => aLines.length,
          (n) => n >= aDone.next_seq,
          30_000,
        );
        expect(aLines.map((l) => l.seq)).toEqual(Array.from({ length: aDone.next_seq }, (_, i) => i));
        const kept = aLines.filter((l) => l.stream === 'stdout');
        expect(kept.map((l) => l.text)).toEqual(kept.map((_, i) => String(i + 1)));
        expect(aLines.filter((l) => /^Log cap reached/.test(l.text))).toHaveLength(1);
        const last = aLines[aLines.length - 1];
        const dropped = Number(/^Log truncated: (\d+) more lines/.exec(last.text)?.[1]);
        expect(last.stream).toBe('system');
        expect(kept.length + dropped).toBe(FLOOD);
        // Batched: far fewer frames than lines.
        expect(aFrames).toBeLessThan(aLines.length / 100);
        // Replay by seq still works, page after page.
        const page = await a.espctl!.call('log.read', { since_seq: 1000, limit: 5000 });
        expect(page.lines[0]).toMatchObject({ seq: 1000, text: '1001' });
        expect(page.more).toBe(true);

        // Neither job was failed as agent_lost; the machine never went offline.
        for (const s of [a, b])
          expect(
            await eventually(
              () => getJob(api, api.userKey, s.jobId).catch(() => getJob(api, otherKey, s.jobId)),
              (j) => j.state === 'succeeded',
            ),
          ).toMatchObject({ state: 'succeeded' });
      } finally {
        await online.stop();
      }
      expect(online.seen.length).toBeGreaterThan(4);
      expect(online.seen.every((x) => x)).toBe(true);

      // Both slots are given back once the sessions end.
      await Promise.all(sessions.splice(0).map((s) => s.close()));
      await eventually(
        async () => machine.agent.freeSlots(),
        (n) => n === 2,
      );
      const res = await fetch(`${api.url}/machines`, { headers: { authorization: `Bearer ${api.adminKey}` } });
      const view = ((await res.json()) as MachineListResponse).machines.find((m) => m.id === machine.machineId);
      expect(view?.online).toBe(true);
    },
  );
});
