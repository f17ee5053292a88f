import { describe, expect, it } from 'vitest';
import type { LogLine } from '@aegis/protocol';
import { LineStore, LogLines, type LogSnapshot } from '../src/lib/build/log-lines';

const lines = (from: number, n: number): LogLine[] =>
  Array.from({ length: n }, (_, i) => ({ seq: from + i, ts: 0, stream: 'stdout' as const, text: `l${from + i}` }));

function setup(store?: LineStore) {
  const published: { log: LogSnapshot; fresh: readonly LogLine[] }[] = [];
  const timers: (() => void)[] = [];
  const log = new LogLines({
    publish: (l, fresh) => published.push({ log: l, fresh }),
    store,
    schedule: (fn) => timers.push(fn),
  });
  const tick = () => timers.splice(0).forEach((fn) => fn());
  return { log, published, tick, timers };
}

function seqsOf(log: LogSnapshot): number[] {
  const out: number[] = [];
  for (let i = log.start; i < log.end; i++) out.push(log.store.at(i)!.seq);
  return out;
}

describe('dashboard log lines', () => {
  it('publishes many frames as one update per tick, each seq once, in order', () => {
    const { log, published, tick, timers } = setup();
    for (let f = 0; f < 100; f++) log.live(lines(f * 50, 50));
    log.live(lines(4990, 20)); // overlaps the last frame: the repeats are dropped
    expect(timers).toHaveLength(1);
    expect(published).toHaveLength(0);
    tick();
    expect(published).toHaveLength(1);
    expect(seqsOf(published[0].log)).toEqual(Array.from({ length: 5010 }, (_, i) => i));
    expect(published[0].fresh.map((l) => l.seq)).toEqual(Array.from({ length: 5010 }, (_, i) => i));
  });

  it('a live frame that arrives during a replay waits for it, so the replay loses nothing', () => {
    const { log, published, tick } = setup();
    log.beginReplay();
    log.replayed(lines(0, 100));
    log.live(lines(300, 10)); // the live stream starts where the log was when we attached
    tick();
    log.replayed(lines(100, 200));
    log.endReplay();
    tick();
    expect(seqsOf(published.at(-1)!.log)).toEqual(Array.from({ length: 310 }, (_, i) => i));
    // Each update hands on only its own new lines (the diagnostics parser reads nothing twice).
    expect(published.flatMap((p) => p.fresh.map((l) => l.seq))).toEqual(Array.from({ length: 310 }, (_, i) => i));
  });

  it('a snapshot stays valid while the store grows: it shows the range it was published with', () => {
    const { log, published, tick } = setup();
    log.live(lines(0, 10));
    tick();
    log.live(lines(10, 10));
    tick();
    expect(seqsOf(published[0].log)).toEqual(Array.from({ length: 10 }, (_, i) => i));
    expect(seqsOf(published[1].log)).toHaveLength(20);
    expect(published[0].log).not.toBe(published[1].log);
  });
});

describe('line store', () => {
  it('keeps lines in chunks, indexes them globally and finds a seq', () => {
    const store = new LineStore(1_000_000, 16);
    for (let k = 0; k < 50; k++) store.append(lines(k * 7, 7));
    expect(store.length).toBe(350);
    expect(store.at(0)!.seq).toBe(0);
    expect(store.at(15)!.seq).toBe(15);
    expect(store.at(16)!.seq).toBe(16);
    expect(store.at(349)!.seq).toBe(349);
    expect(store.at(350)).toBeUndefined();
    expect(store.indexOfSeq(123)).toBe(123);
    expect(store.indexOfSeq(1000)).toBe(-1);
  });

  it('evicts the oldest whole chunks past its limit; the kept lines keep their indexes', () => {
    const store = new LineStore(100, 16);
    store.append(lines(0, 1000));
    expect(store.length).toBeGreaterThanOrEqual(100);
    expect(store.length).toBeLessThan(100 + 16);
    expect(store.end).toBe(1000);
    expect(store.start % 16).toBe(0);
    expect(store.at(store.start - 1)).toBeUndefined();
    expect(store.at(store.start)!.seq).toBe(store.start);
    expect(store.at(999)!.seq).toBe(999);
    expect(store.indexOfSeq(999)).toBe(999);
    expect(store.indexOfSeq(5)).toBe(-1);
  });

  it('works with seqs that have gaps (a replay from a later point)', () => {
    const store = new LineStore();
    store.append(lines(100, 5));
    store.append(lines(200, 5));
    expect(store.indexOfSeq(202)).toBe(7);
    expect(store.indexOfSeq(150)).toBe(-1);
  });
});
