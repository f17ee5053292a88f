import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loopbackRtcConfig, startRemoteSession, type PtyClient, type PtyExit, type RemoteSession } from '@aegis/peer';
import type { BuildBackend } from '../src/build/backend.js';
import { createFixtureBackend } from './fixtures/fixture-backend.mjs';
import { eventually, startInProcessMachine, startTestApi, type InProcessMachine } from './harness.js';

/** The fixture backend, counting the terminals it hands out and the ones given back. */
function countingBackend() {
  const base = createFixtureBackend();
  const counts = { started: 0, disposed: 0 };
  const backend: BuildBackend = {
    ...base,
    async terminal(workspaceDir, command) {
      const cmd = await base.terminal(workspaceDir, command);
      counts.started++;
      return {
        ...cmd,
        dispose: () => {
          counts.disposed++;
          cmd.dispose?.();
        },
      };
    },
  };
  return { backend, counts };
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Everything the channel says, kept so each step can wait for what it expects. */
function record(pty: PtyClient) {
  const r = { out: '', exits: [] as PtyExit[], errors: [] as string[] };
  pty.onData((d) => (r.out += d.toString()));
  pty.onExit((e) => r.exits.push(e));
  pty.onError((m) => r.errors.push(m));
  return r;
}

describe('pty channel: exit, then a fresh terminal on the same channel', () => {
  let api: Awaited<ReturnType<typeof startTestApi>>;
  let machine: InProcessMachine;
  const { backend, counts } = countingBackend();
  const sessions: RemoteSession[] = [];

  beforeAll(async () => {
    api = await startTestApi();
    machine = await startInProcessMachine(api, { backend });
  });
  afterAll(async () => {
    for (const s of sessions) await s.close();
    await machine?.stop();
    await api?.stop();
  });

  const connect = async () => {
    const s = await startRemoteSession({ baseUrl: api.url, apiKey: api.userKey, rtcConfig: loopbackRtcConfig });
    sessions.push(s);
    return s;
  };

  it('refuses an open while a shell runs, then reopens after exit into the same workspace', async () => {
    const s = await connect();
    const pty = s.pty!;
    const r = record(pty);

    await pty.open({ cols: 80, rows: 24 });
    await pty.write('echo kept > note.txt; echo pid1=$$; pwd\n');
    const first = await eventually(
      async () => /pid1=(\d+)/.exec(r.out)?.[1],
      (pid) => pid !== undefined,
      10_000,
    );
    const pid1 = Number(first);
    expect(alive(pid1)).toBe(true);

    // A second open while the first shell runs: an error frame, and the running shell is untouched.
    await pty.open({ cols: 132, rows: 50 });
    await eventually(
      async () => r.errors.length,
      (n) => n >= 1,
      5000,
    );
    expect(r.errors[0]).toMatch(/already running.*exit it/);
    await pty.write('echo alive-$((1+1)); stty size\n');
    await eventually(
      async () => r.out,
      (o) => o.includes('alive-2') && o.includes('24 80'),
      10_000,
    );
    expect(counts).toEqual({ started: 1, disposed: 0 });

    await pty.write('exit 4\n');
    await eventually(
      async () => r.exits.length,
      (n) => n === 1,
      10_000,
    );
    expect(r.exits[0].code).toBe(4);
    expect(counts).toEqual({ started: 1, disposed: 1 });
    await eventually(
      async () => alive(pid1),
      (a) => !a,
      5000,
    );

    // The same channel opens a fresh shell (own size, own process) in the same workspace.
    r.out = '';
    await pty.open({ cols: 90, rows: 30 });
    await pty.write('echo pid2=$$; cat note.txt; echo second-$((3*3)); stty size; exit 0\n');
    await eventually(
      async () => r.exits.length,
      (n) => n === 2,
      10_000,
    );
    expect(r.exits[1].code).toBe(0);
    await eventually(
      async () => r.out,
      (o) => o.includes('second-9') && o.includes('30 90') && o.includes('kept'),
      5000,
    );
    const pid2 = Number(/pid2=(\d+)/.exec(r.out)?.[1]);
    expect(pid2).toBeGreaterThan(0);
    expect(pid2).not.toBe(pid1);
    expect(r.errors).toHaveLength(1);
    expect(counts).toEqual({ started: 2, disposed: 2 });

    // Typing into an exited terminal is refused with a hint, and nothing starts by itself.
    await pty.write('ls\n');
    await eventually(
      async () => r.errors.length,
      (n) => n === 2,
      5000,
    );
    expect(r.errors[1]).toMatch(/Open the terminal first/);
    expect(counts.started).toBe(2);
  });

  it('a terminal still running when the client goes away is killed and its sandbox given back', async () => {
    const s = await connect();
    const r = record(s.pty!);
    const before = { ...counts };
    await s.pty!.open({ cols: 80, rows: 24 });
    await s.pty!.write('echo pid=$$\n');
    const pid = Number(
      await eventually(
        async () => /pid=(\d+)/.exec(r.out)?.[1],
        (p) => p !== undefined,
        10_000,
      ),
    );
    expect(alive(pid)).toBe(true);
    await s.close();
    await eventually(
      async () => counts.disposed,
      (n) => n === before.disposed + 1,
      10_000,
    );
    expect(counts.started).toBe(before.started + 1);
    await eventually(
      async () => alive(pid),
      (a) => !a,
      5000,
    );
  });
});
