import { describe, expect, it } from 'vitest';
import type { LogLine } from '@aegis/protocol';
import { LogLines } from '../src/lib/build/log-lines';

const lines = (from: number, n: number): LogLine[] =>
  Array.from({ length: n }, (_, i) => ({ seq: from + i, ts: 0, stream: 'stdout' as const, text: `l${from + i}` }));

function setup(maxLines?: number) {
  const published: LogLine[][] = [];
  const timers: (() => void)[] = [];
  const log = new LogLines({
    publish: (l) => published.push(l),
    maxLines,
    schedule: (fn) => timers.push(fn),
  });
  const tick = () => timers.splice(0).forEach((fn) => fn());
  return { log, published, tick, timers };
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
    expect(published[0].map((l) => l.seq)).toEqual(Array.from({ length: 5010 }, (_, i) => i));
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
    expect(published.at(-1)!.map((l) => l.seq)).toEqual(Array.from({ length: 310 }, (_, i) => i));
  });

  it('keeps the newest lines only', () => {
    const { log, published, tick } = setup(1000);
    log.live(lines(0, 2500));
    tick();
    expect(published[0]).toHaveLength(1000);
    expect(published[0][0].seq).toBe(1500);
  });
});
