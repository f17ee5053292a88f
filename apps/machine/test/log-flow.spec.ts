import { afterEach, describe, expect, it, vi } from 'vitest';
import { LOG_FRAME_BYTES, LogBatch, MAX_FRAME_BYTES, type BuildStatus, type LogLine } from '@aegis/protocol';
import { LogBuffer } from '../src/jobs/log-buffer.js';
import { streamLog } from '../src/channels/log-stream.js';
import { LineSplitter } from '../src/sandbox/line-splitter.js';
import { spawnTree } from '../src/sandbox/spawn-tree.js';
import type { OutputFlow } from '../src/sandbox/types.js';

const utf8 = (s: string) => Buffer.byteLength(s);

/** Every line of a buffer, read back page by page with log.read's paging. */
function replayAll(b: LogBuffer, limit = 5000): LogLine[] {
  const out: LogLine[] = [];
  for (let since = 0, more = true; more;) {
    const page = b.read(since, limit);
    expect(utf8(JSON.stringify(page))).toBeLessThan(MAX_FRAME_BYTES);
    out.push(...page.lines);
    more = page.more;
    since = page.next_seq;
  }
  return out;
}

describe('log cap', () => {
  it('keeps lines up to the cap, then one marker, counts the rest and reports the count at the end', () => {
    const b = new LogBuffer({ capBytes: 64 * 1024 });
    for (let i = 0; i < 20_000; i++) b.append(i % 5 ? 'stdout' : 'stderr', `line ${i}`);
    b.append('system', 'Build failed: exit 2');
    b.endOfOutput();
    const lines = replayAll(b);
    expect(lines.map((l) => l.seq)).toEqual(lines.map((_, i) => i));
    const markers = lines.filter((l) => /^Log cap reached/.test(l.text));
    expect(markers).toHaveLength(1);
    expect(markers[0].stream).toBe('system');
    const kept = lines.filter((l) => l.stream !== 'system').length;
    expect(kept).toBeGreaterThan(100);
    expect(kept + b.dropped.lines).toBe(20_000);
    // The machine's own lines still get through after the cap; the count is the last line.
    expect(lines[lines.length - 2].text).toBe('Build failed: exit 2');
    expect(lines[lines.length - 1].text).toBe(
      `Log truncated: ${b.dropped.lines} more lines (${b.dropped.bytes} bytes) of build output came after the 64 KiB log cap and were counted, not kept.`,
    );
    // The buffer stays within the cap plus a small reserve for those machine lines.
    expect(utf8(lines.map((l) => JSON.stringify(l)).join(''))).toBeLessThan(64 * 1024 + 64 * 1024);
  });

  it('reports nothing when nothing was dropped, and each build its own count', () => {
    const b = new LogBuffer({ capBytes: 4096 });
    for (let i = 0; i < 10; i++) b.append('stdout', `x${i}`);
    b.endOfOutput();
    expect(b.nextSeq).toBe(10);
    for (let i = 0; i < 500; i++) b.append('stdout', 'y'.repeat(20));
    b.endOfOutput();
    const first = b.dropped.lines;
    for (let i = 0; i < 7; i++) b.append('stdout', 'z');
    b.endOfOutput();
    const texts = replayAll(b).map((l) => l.text);
    expect(texts.filter((t) => t.startsWith('Log cap reached'))).toHaveLength(1);
    expect(texts.filter((t) => t.startsWith('Log truncated'))).toEqual([
      expect.stringContaining(`${first} more lines`),
      expect.stringContaining('7 more lines'),
    ]);
  });

  it('pages log.read by bytes (each page fits a frame) and by line count, resuming at any seq', () => {
    const b = new LogBuffer();
    for (let i = 0; i < 3000; i++) b.append('stdout', `${i} ${'é\u0001'.repeat(i % 50)}`);
    const all = replayAll(b);
    expect(all.map((l) => l.seq)).toEqual(Array.from({ length: 3000 }, (_, i) => i));
    const page = b.read(1234, 10);
    expect(page.lines.map((l) => l.seq)).toEqual(Array.from({ length: 10 }, (_, i) => 1234 + i));
    expect(page).toMatchObject({ next_seq: 1244, more: true });
    expect(b.read(5000)).toEqual({ lines: [], next_seq: 3000, more: false });
  });

  it('cuts a line longer than a frame allows into pieces', () => {
    const b = new LogBuffer();
    b.append('system', '\u0002'.repeat(20_000));
    const lines = replayAll(b);
    expect(lines.map((l) => l.text.length)).toEqual([8192, 8192, 20_000 - 2 * 8192]);
  });
});

describe('log flow control (pause / resume)', () => {
  afterEach(() => vi.useRealTimers());

  it('with no client attached it never asks the build to wait', () => {
    const b = new LogBuffer({ lagHighWaterBytes: 1024 });
    for (let i = 0; i < 10_000; i++) b.append('stdout', `line ${i}`);
    expect(b.whenReady()).toBeUndefined();
  });

  it('holds the build back while an attached client is behind, and lets go when it catches up', async () => {
    const b = new LogBuffer({ lagHighWaterBytes: 1024 });
    const c = b.attach();
    for (let i = 0; i < 10; i++) b.append('stdout', `line ${i}`);
    expect(b.whenReady()).toBeUndefined();
    for (let i = 0; i < 100; i++) b.append('stdout', `line ${i}`);
    const wait = b.whenReady();
    expect(wait).toBeInstanceOf(Promise);
    let released = false;
    void wait!.then(() => (released = true));
    c.advance(10);
    await Promise.resolve();
    expect(released).toBe(false);
    c.advance(b.nextSeq - 5);
    await wait;
    expect(b.whenReady()).toBeUndefined();
  });

  it('lets go when the client leaves', async () => {
    const b = new LogBuffer({ lagHighWaterBytes: 100 });
    const c = b.attach();
    for (let i = 0; i < 100; i++) b.append('stdout', `line ${i}`);
    const wait = b.whenReady()!;
    c.close();
    await wait;
    expect(b.whenReady()).toBeUndefined();
  });

  it('never holds the build past the log cap', async () => {
    const b = new LogBuffer({ lagHighWaterBytes: 100, capBytes: 10_000 });
    b.attach();
    for (let i = 0; i < 20; i++) b.append('stdout', `line ${i}`);
    const wait = b.whenReady()!;
    expect(wait).toBeInstanceOf(Promise);
    for (let i = 0; i < 1000; i++) b.append('stdout', `line ${i}`);
    await wait;
    expect(b.isCapped).toBe(true);
    expect(b.whenReady()).toBeUndefined();
  });

  it('a client that takes nothing for the stall time no longer holds the build', async () => {
    vi.useFakeTimers();
    const b = new LogBuffer({ lagHighWaterBytes: 100, stallMs: 30_000 });
    b.attach();
    for (let i = 0; i < 100; i++) b.append('stdout', `line ${i}`);
    let released = false;
    void b.whenReady()!.then(() => (released = true));
    await vi.advanceTimersByTimeAsync(29_000);
    expect(released).toBe(false);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(released).toBe(true);
    expect(b.whenReady()).toBeUndefined();
  });
});

describe('log frames', () => {
  function collector() {
    const frames: string[] = [];
    let gate: Promise<void> = Promise.resolve();
    return {
      frames,
      /** Make the channel slow: sends wait for `release`. */
      hold() {
        let release!: () => void;
        gate = new Promise<void>((r) => (release = r));
        return () => release();
      },
      send: async (text: string) => {
        await gate;
        frames.push(text);
      },
    };
  }
  const parse = (frames: string[]) =>
    frames.map((f) => JSON.parse(f) as { method: string; params: unknown }).map((m) => m);

  it('batches a flood into few frames under the size limit, without gaps, then the status', async () => {
    const b = new LogBuffer();
    const ch = collector();
    const release = ch.hold();
    const s = streamLog({ log: b, send: ch.send, batchMs: 1 });
    for (let i = 0; i < 20_000; i++) b.append('stdout', `[${i}/20000] compiling file_${i}.c`);
    const status: BuildStatus = { state: 'succeeded', exit_code: 0, next_seq: b.nextSeq };
    s.status(status);
    release();
    await vi.waitFor(() => expect(ch.frames.at(-1)).toContain('"status"'));
    s.stop();
    await s.done;
    const msgs = parse(ch.frames);
    expect(msgs.at(-1)).toEqual({ jsonrpc: '2.0', method: 'status', params: status });
    const batches = msgs.slice(0, -1).map((m) => {
      expect(m.method).toBe('log');
      return LogBatch.parse(m.params).lines;
    });
    for (const f of ch.frames.slice(0, -1)) expect(utf8(f)).toBeLessThanOrEqual(LOG_FRAME_BYTES + 100);
    expect(batches.flat().map((l) => l.seq)).toEqual(Array.from({ length: 20_000 }, (_, i) => i));
    expect(batches.length).toBeLessThan(20_000 / 100);
  });

  it('a few lines wait up to the batch time and leave together', async () => {
    const b = new LogBuffer();
    const ch = collector();
    let wake!: () => void;
    const sleeps: number[] = [];
    const s = streamLog({
      log: b,
      send: ch.send,
      sleep: (ms) => {
        sleeps.push(ms);
        return new Promise<void>((r) => (wake = r));
      },
    });
    b.append('stdout', 'one');
    await vi.waitFor(() => expect(sleeps).toEqual([50]));
    b.append('stdout', 'two');
    b.append('stderr', 'three');
    expect(ch.frames).toEqual([]);
    wake();
    await vi.waitFor(() => expect(ch.frames).toHaveLength(1));
    expect(LogBatch.parse(parse(ch.frames)[0].params).lines.map((l) => l.text)).toEqual(['one', 'two', 'three']);
    s.stop();
    await s.done;
  });

  it('stops when the channel closes and leaves the build free', async () => {
    const b = new LogBuffer({ lagHighWaterBytes: 100 });
    const s = streamLog({
      log: b,
      send: () => Promise.reject(new Error('closed')),
      batchMs: 1,
    });
    for (let i = 0; i < 100; i++) b.append('stdout', `line ${i}`);
    await s.done;
    expect(b.whenReady()).toBeUndefined();
  });
});

describe('line splitter', () => {
  it('splits a huge chunk of short lines in one pass, UTF-8 across chunk borders intact', () => {
    const n = 500_000;
    const text = Array.from({ length: n }, (_, i) => `${i}`).join('\n') + '\nend ü';
    const bytes = Buffer.from(text);
    const got: string[] = [];
    const s = new LineSplitter((l) => got.push(l));
    const cut = bytes.length - 1; // inside the two-byte ü
    s.push(bytes.subarray(0, cut));
    s.push(bytes.subarray(cut));
    s.flush();
    expect(got).toHaveLength(n + 1);
    expect(got[123_456]).toBe('123456');
    expect(got[n]).toBe('end ü');
  });
});

describe('spawnTree backpressure', () => {
  /** A flow the test opens and closes by hand. */
  function manualFlow() {
    let blocked = true;
    let asked = 0;
    let open!: () => void;
    let waiting: Promise<void> | undefined;
    const flow: OutputFlow = {
      whenReady() {
        if (!blocked) return undefined;
        asked++;
        waiting ??= new Promise<void>((r) => (open = r));
        return waiting;
      },
    };
    return {
      flow,
      get asked() {
        return asked;
      },
      release() {
        blocked = false;
        open?.();
      },
    };
  }

  it('stops reading while the flow is not ready, so the command blocks on write; nothing is lost', async () => {
    const f = manualFlow();
    const lines: string[] = [];
    let ended = false;
    const run = spawnTree(
      { file: 'seq', args: ['300000'], env: { PATH: '/usr/bin:/bin' }, cwd: '/', timeoutSecs: 60 },
      { onLine: (_s, t) => lines.push(t), flow: f.flow },
    ).then((r) => {
      ended = true;
      return r;
    });
    await vi.waitFor(() => expect(f.asked).toBeGreaterThan(0));
    const whenPaused = lines.length;
    // 300,000 lines are ~2 MB: far more than a pipe holds, so seq cannot finish while we do not read.
    await new Promise((r) => setTimeout(r, 300));
    expect(ended).toBe(false);
    expect(lines.length).toBeLessThan(300_000);
    expect(lines.length - whenPaused).toBeLessThan(20_000);
    f.release();
    const r = await run;
    expect(r.exitCode).toBe(0);
    expect(lines).toHaveLength(300_000);
    expect(lines[0]).toBe('1');
    expect(lines[299_999]).toBe('300000');
  });

  it('a cancel while paused still ends the run', async () => {
    const f = manualFlow();
    const ac = new AbortController();
    const run = spawnTree(
      { file: 'seq', args: ['10000000'], env: { PATH: '/usr/bin:/bin' }, cwd: '/', timeoutSecs: 60 },
      { onLine: () => undefined, flow: f.flow, signal: ac.signal },
    );
    await vi.waitFor(() => expect(f.asked).toBeGreaterThan(0));
    ac.abort();
    const r = await run;
    expect(r.canceled).toBe(true);
  });
});
