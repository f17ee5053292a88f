import { describe, expect, it } from 'vitest';
import { clampTtl } from '../src/grants/ttl.js';
import { rateStep } from '../src/grants/grant-rate.js';
import { checkLimits } from '../src/grants/limits.js';
import { fairOrder } from '../src/scheduling/fairness.js';
import { fits, place, type MachineInfo } from '../src/scheduling/matcher.js';
import { backoffMs, sign, verify } from '../src/webhooks/signature.js';
import { AppError } from '../src/errors.js';
import { bearer, hashSecret, newSecret } from '../src/auth/secrets.js';

const machine = (over: Partial<MachineInfo> = {}): MachineInfo => ({
  id: 'm1',
  name: 'm1',
  online: true,
  capacity: { total_slots: 2, free_slots: 1, cpu_cores: 4, memory_mb: 4096 },
  idfVersions: ['5.3.1'],
  targets: ['esp32c3'],
  builds: [],
  ...over,
});
const params = { cpu_cores: 2, memory_mb: 2048, timeout_secs: 60 };

function thrown(fn: () => void): AppError {
  try {
    fn();
  } catch (e) {
    return e as AppError;
  }
  throw new Error('did not throw');
}

describe('grant TTL', () => {
  it('defaults to 15 s and clamps to 5–30 s', () => {
    expect(clampTtl(undefined)).toBe(15);
    expect(clampTtl(1)).toBe(5);
    expect(clampTtl(12)).toBe(12);
    expect(clampTtl(3600)).toBe(30);
  });
});

/** The shared rate limit's rule with the per-user arrival times in a map (the database keeps them in `grant_rate`). */
class TokenBuckets {
  private readonly tats = new Map<string, number>();
  constructor(
    private readonly perMinute: number,
    private readonly now: () => number,
  ) {}
  take(key: string): number {
    const r = rateStep(this.tats.get(key), this.now(), this.perMinute);
    this.tats.set(key, r.tat);
    return r.wait;
  }
}

describe('rate limit (token bucket)', () => {
  it('allows the burst, then asks to wait, then refills with time', () => {
    let now = 0;
    const b = new TokenBuckets(3, () => now);
    expect([b.take('u'), b.take('u'), b.take('u')]).toEqual([0, 0, 0]);
    const wait = b.take('u');
    expect(wait).toBeGreaterThanOrEqual(1);
    expect(b.take('other')).toBe(0);
    now += wait * 1000;
    expect(b.take('u')).toBe(0);
  });
  it('waits exactly one interval after a full burst, and a refused request costs nothing', () => {
    let now = 1_000_000;
    const b = new TokenBuckets(3, () => now);
    for (let i = 0; i < 3; i++) b.take('u');
    expect([b.take('u'), b.take('u')]).toEqual([20, 20]);
    now += 19_000;
    expect(b.take('u')).toBe(1);
    now += 1_000;
    expect([b.take('u'), b.take('u')]).toEqual([0, 20]);
    // Idle for long: the burst is back, but never more than the burst.
    now += 3_600_000;
    expect([b.take('u'), b.take('u'), b.take('u'), b.take('u') > 0]).toEqual([0, 0, 0, true]);
  });
});

describe('quota and queue cap', () => {
  const limits = { maxQueued: 2, daily: 10 };
  it('passes under the limits', () => {
    expect(() => checkLimits({ queued: 1, today: 9, nextDayAt: 86_400_000 }, limits, 1000)).not.toThrow();
  });
  it('refuses too many jobs waiting, saying what to do', () => {
    const e = thrown(() => checkLimits({ queued: 2, today: 2, nextDayAt: 86_400_000 }, limits, 1000));
    expect([e.status, e.code]).toEqual([429, 'queue_full']);
    expect(e.message).toMatch(/limit 2 per user.*cancel/);
  });
  it('refuses past the daily quota with a Retry-After until the next UTC day', () => {
    const e = thrown(() => checkLimits({ queued: 0, today: 10, nextDayAt: 86_400_000 }, limits, 3600_000));
    expect([e.status, e.code]).toEqual([429, 'quota_exceeded']);
    expect(e.headers['Retry-After']).toBe(String(23 * 3600));
  });
});

describe('placement', () => {
  it('names the reason no machine fits', () => {
    const need = { params, pinnedMachineId: null };
    expect(place([], need)).toMatchObject({ ok: false, reason: expect.stringMatching(/No build machine is online/) });
    expect(place([machine({ online: false })], need)).toMatchObject({ ok: false });
    expect(place([machine()], { params: { ...params, idf_version: '5.4' }, pinnedMachineId: null })).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/ESP-IDF 5.4 \(available: 5.3.1\)/),
    });
    expect(place([machine()], { params: { ...params, target: 'esp32s3' }, pinnedMachineId: null })).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/target esp32s3/),
    });
    expect(place([machine()], { params: { ...params, cpu_cores: 8 }, pinnedMachineId: null })).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/8 CPU cores/),
    });
    const busy = machine({ capacity: { total_slots: 1, free_slots: 0, cpu_cores: 4, memory_mb: 4096 } });
    // Busy machines are still candidates: the job queues for them instead of being refused.
    expect(place([busy], need)).toMatchObject({ ok: true, candidates: [busy] });
    expect(place([machine(), machine({ id: 'm2' })], need)).toMatchObject({ ok: true });
  });
  it('matches the IDF version and the target as one pair the machine builds', () => {
    // 5.1.6 builds esp32c3 and esp32; 5.3.1 only esp32c3. Both lists alone would wrongly allow 5.3.1 + esp32.
    const m = machine({
      idfVersions: ['5.1.6', '5.3.1'],
      targets: ['esp32c3', 'esp32'],
      builds: [
        { idf_version: '5.1.6', target: 'esp32c3' },
        { idf_version: '5.1.6', target: 'esp32' },
        { idf_version: '5.3.1', target: 'esp32c3' },
      ],
    });
    const job = (idf_version?: string, target?: string) => ({
      params: { ...params, idf_version, target: target as 'esp32' | undefined },
      pinnedMachineId: null,
    });
    expect(fits(m, job('5.1.6', 'esp32'))).toBe(true);
    expect(fits(m, job('v5.3.1', 'esp32c3'))).toBe(true);
    expect(fits(m, job(undefined, 'esp32'))).toBe(true);
    expect(fits(m, job('5.3.1', 'esp32'))).toBe(false);
    expect(place([m], job('5.3.1', 'esp32'))).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/target esp32 with ESP-IDF 5\.3\.1 \(available: .*esp32 \(IDF 5\.1\.6\)/),
    });
  });
  it('treats "v5.3.1" and "5.3.1" as the same version', () => {
    expect(
      fits(machine({ idfVersions: ['v5.3.1'] }), {
        params: { ...params, idf_version: '5.3.1' },
        pinnedMachineId: null,
      }),
    ).toBe(true);
  });
  it('sends attach jobs only to their pinned machine', () => {
    expect(fits(machine(), { params, pinnedMachineId: 'm2' })).toBe(false);
    expect(fits(machine({ id: 'm2' }), { params, pinnedMachineId: 'm2' })).toBe(true);
    expect(place([machine()], { params, pinnedMachineId: 'm2' })).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/parent job/),
    });
  });
  it('lets an attach reach a busy machine: it reads results and takes no build slot', () => {
    const busy = machine({ id: 'm2', capacity: { total_slots: 1, free_slots: 0, cpu_cores: 4, memory_mb: 4096 } });
    expect(fits(busy, { params, pinnedMachineId: 'm2' })).toBe(true);
    expect(place([busy], { params, pinnedMachineId: 'm2' })).toMatchObject({ ok: true, candidates: [busy] });
    expect(fits({ ...busy, online: false }, { params, pinnedMachineId: 'm2' })).toBe(false);
  });
});

describe('fairness', () => {
  it('takes higher priority first, then round-robins users by age', () => {
    const jobs = [
      { id: 'a1', userId: 'a', priority: 0, createdAt: 1 },
      { id: 'a2', userId: 'a', priority: 0, createdAt: 2 },
      { id: 'a3', userId: 'a', priority: 0, createdAt: 3 },
      { id: 'b1', userId: 'b', priority: 0, createdAt: 4 },
      { id: 'c1', userId: 'c', priority: 0, createdAt: 5 },
      { id: 'b2', userId: 'b', priority: 5, createdAt: 6 },
    ];
    expect(fairOrder(jobs).map((j) => j.id)).toEqual(['b2', 'a1', 'b1', 'c1', 'a2', 'a3']);
  });
});

describe('webhook signature and backoff', () => {
  it('signs with HMAC-SHA256 and verifies only the exact body', () => {
    const s = sign('secret', '{"a":1}');
    expect(s).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(verify('secret', '{"a":1}', s)).toBe(true);
    expect(verify('secret', '{"a":2}', s)).toBe(false);
    expect(verify('other', '{"a":1}', s)).toBe(false);
    expect(verify('secret', '{"a":1}', undefined)).toBe(false);
  });
  it('backs off exponentially with a cap', () => {
    expect([1, 2, 3].map(backoffMs)).toEqual([2000, 4000, 8000]);
    expect(backoffMs(30)).toBe(600_000);
  });
});

describe('secrets', () => {
  it('are prefixed, random and hashed', () => {
    const a = newSecret('aegis_u_');
    expect(a).toMatch(/^aegis_u_[A-Za-z0-9_-]{43}$/);
    expect(newSecret('aegis_u_')).not.toBe(a);
    expect(hashSecret(a)).toMatch(/^[0-9a-f]{64}$/);
    expect(bearer(`Bearer ${a}`)).toBe(a);
    expect(bearer(`Basic ${a}`)).toBeUndefined();
  });
});

describe('webhook address guard', () => {
  it('knows private and public addresses', async () => {
    const { isPrivateAddress } = await import('../src/webhooks/private-address.js');
    for (const ip of [
      '127.0.0.1',
      '10.1.2.3',
      '192.168.0.1',
      '172.20.0.1',
      '169.254.169.254',
      '::1',
      'fd00::1',
      '::ffff:127.0.0.1',
    ])
      expect(isPrivateAddress(ip), ip).toBe(true);
    for (const ip of ['8.8.8.8', '1.1.1.1', '2001:4860:4860::8888']) expect(isPrivateAddress(ip), ip).toBe(false);
  });
});
