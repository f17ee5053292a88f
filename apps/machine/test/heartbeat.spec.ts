import { afterEach, describe, expect, it, vi } from 'vitest';
import type { HeartbeatResponse, MachineHeartbeat } from '@aegis/protocol';
import type { Logger } from 'pino';
import type { ControlApi } from '../src/control/control-api.js';
import { Heartbeat } from '../src/control/heartbeat.js';

const answer: HeartbeatResponse = {
  v: 1,
  heartbeat_interval_secs: 1,
  offline_after_secs: 3,
  cancel_job_ids: [],
  server_time: new Date(0).toISOString(),
} as unknown as HeartbeatResponse;

function fakeApi(answerMs: number) {
  const starts: number[] = [];
  const api = {
    heartbeat: async () => {
      starts.push(performance.now());
      await new Promise((r) => setTimeout(r, answerMs));
      return answer;
    },
  } as unknown as ControlApi;
  return { api, starts };
}

const fakeLog = () =>
  ({ warn: vi.fn(), error: vi.fn(), info: vi.fn() }) as unknown as Logger & { warn: ReturnType<typeof vi.fn> };

describe('heartbeat', () => {
  afterEach(() => vi.useRealTimers());

  it('keeps its cadence from one start to the next, however slowly the API answers', async () => {
    vi.useFakeTimers();
    const { api, starts } = fakeApi(800);
    const hb = new Heartbeat(
      api,
      async () => ({}) as MachineHeartbeat,
      () => undefined,
      fakeLog(),
    );
    hb.start(1);
    await vi.advanceTimersByTimeAsync(10_500);
    const stopped = hb.stop();
    await vi.advanceTimersByTimeAsync(1000);
    await stopped;
    const gaps = starts.slice(1).map((t, i) => t - starts[i]);
    expect(starts.length).toBeGreaterThanOrEqual(9);
    // A gap of interval + answer time (1.8 s here) would let a slow API push the machine towards "offline".
    for (const g of gaps) expect(g).toBe(1000);
  });

  it('says so when the event loop was blocked', async () => {
    const { api } = fakeApi(0);
    const log = fakeLog();
    const hb = new Heartbeat(
      api,
      async () => ({}) as MachineHeartbeat,
      () => undefined,
      log,
    );
    hb.start(60);
    await new Promise((r) => setTimeout(r, 50));
    const until = Date.now() + 1500;
    while (Date.now() < until) {
      // a build's output handled in one go would look like this to everything else on the loop
    }
    // The loop-delay sampler notes the stall on its next tick; the beat after it reports it.
    await new Promise((r) => setTimeout(r, 100));
    hb.kick();
    await vi.waitFor(() => expect(log.warn).toHaveBeenCalled());
    expect(log.warn.mock.calls[0][1]).toMatch(/event loop was blocked/);
    await hb.stop();
  });
});
