import { describe, expect, it } from 'vitest';
import type { JobParams } from '@aegis/protocol';
import { estimateQueue, median, pairKey, type EstimateInput } from '../src/scheduling/queue-estimate.js';
import type { MachineInfo } from '../src/scheduling/matcher.js';

const C3: JobParams = { cpu_cores: 1, memory_mb: 512, timeout_secs: 600, idf_version: '5.1.6', target: 'esp32c3' };
const machine = (id: string, slots: number): MachineInfo => ({
  id,
  name: id,
  online: true,
  capacity: { total_slots: slots, free_slots: slots, cpu_cores: 8, memory_mb: 16384 },
  idfVersions: ['5.1.6'],
  targets: ['esp32c3'],
  builds: [{ idf_version: '5.1.6', target: 'esp32c3' }],
});
const now = 1_000_000;
const base = (over: Partial<EstimateInput>): EstimateInput => ({
  now,
  waiting: [],
  running: [],
  machines: [machine('m1', 2)],
  maxRunningPerUser: 2,
  durationSecs: () => 60,
  ...over,
});

describe('queue places and estimates, the scheduler played forward', () => {
  it('a user at the running limit waits for their own build; another user’s job goes first on the free slot', () => {
    const q = estimateQueue(
      base({
        machines: [machine('m1', 3)],
        // a runs two builds (the limit): one ends in 10 s, the other in 50 s; the third slot is free.
        running: [
          { userId: 'a', machineId: 'm1', params: C3, assignedAt: now - 50_000 },
          { userId: 'a', machineId: 'm1', params: C3, assignedAt: now - 10_000 },
        ],
        waiting: [
          { id: 'a3', userId: 'a', params: C3 },
          { id: 'b1', userId: 'b', params: C3 },
        ],
      }),
    );
    expect(q.get('b1')).toMatchObject({ position: 1, ahead: 0, estimate_secs: 0, capable_slots: 3 });
    expect(q.get('a3')).toMatchObject({ position: 2, ahead: 1, estimate_secs: 10 });
  });

  it('fills every capable slot: with two slots the third job waits one build time', () => {
    const waiting = ['x', 'y', 'z'].map((id, i) => ({ id, userId: `u${i}`, params: C3 }));
    const q = estimateQueue(base({ waiting }));
    expect([...q.values()].map((p) => [p.position, p.estimate_secs])).toEqual([
      [1, 0],
      [2, 0],
      [3, 60],
    ]);
  });

  it('knows the order but gives no estimate before any build of the pair finished', () => {
    const q = estimateQueue(
      base({ waiting: [{ id: 'x', userId: 'u', params: C3 }], machines: [machine('m1', 0)], durationSecs: () => null }),
    );
    expect(q.get('x')).toMatchObject({ position: 1, estimate_secs: null, median_build_secs: null });
  });

  it('keys durations by (IDF version, target) and takes the median', () => {
    expect(pairKey({ idf_version: 'v5.1.6', target: 'esp32' })).toBe(
      pairKey({ idf_version: '5.1.6', target: 'esp32' }),
    );
    expect(pairKey({})).toBe('default/default');
    expect([median([5, 1, 100]), median([1, 2, 3, 4]), median([])]).toEqual([5, 2.5, null]);
  });
});
