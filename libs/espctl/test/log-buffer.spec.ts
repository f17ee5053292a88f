import { describe, expect, it } from 'vitest';
import { LogBuffer } from '../src/tasks/log-buffer.js';

const line = (seq: number) => ({ seq, ts: seq, stream: 'stdout' as const, text: `line ${seq}` });

describe('LogBuffer', () => {
  it('pages with since_seq without gaps or repeats, even with out-of-order and duplicate arrivals', () => {
    const b = new LogBuffer();
    const order = [0, 2, 1, 1, 3, 5, 4, 6, 0, 7, 9, 8];
    for (const s of order) b.push(line(s));
    const seen: number[] = [];
    let since = 0;
    for (;;) {
      const page = b.read(since, 3);
      seen.push(...page.lines.map((l) => l.seq));
      since = page.next_seq;
      if (!page.more) break;
    }
    expect(seen).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(b.read(since, 3)).toEqual({ lines: [], next_seq: 10, more: false });
  });

  it('holds back lines after a gap until the gap is filled', () => {
    const b = new LogBuffer();
    b.push(line(0));
    b.push(line(2));
    expect(b.nextSeq).toBe(1);
    b.push(line(1));
    expect(b.nextSeq).toBe(3);
  });

  it('tails the last lines and drops the oldest past the cap', () => {
    const b = new LogBuffer(5);
    for (let i = 0; i < 12; i++) b.push(line(i));
    expect(b.tail(2).lines.map((l) => l.seq)).toEqual([10, 11]);
    expect(b.read(0, 100).lines.map((l) => l.seq)).toEqual([7, 8, 9, 10, 11]);
  });
});
