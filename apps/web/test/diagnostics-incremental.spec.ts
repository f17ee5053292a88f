import type { LogLine } from '@aegis/protocol';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DiagnosticsFeed, diagnosticsOf, IncrementalDiagnostics, type Diagnostic } from '../src/lib/build/diagnostics';

/** libs/esp's build-failure logs: real ESP-IDF v5.1.6 output and one hand-written file per shape the parser knows. */
const FIXTURES = new URL('../../../libs/esp/test/fixtures/diagnostics', import.meta.url).pathname;

function logFiles(): string[] {
  const real = readdirSync(FIXTURES)
    .filter((f) => f.endsWith('.log'))
    .map((f) => join(FIXTURES, f));
  const hand = readdirSync(join(FIXTURES, 'hand'))
    .filter((f) => f.endsWith('.log'))
    .map((f) => join(FIXTURES, 'hand', f));
  return [...real, ...hand].sort();
}

/** The log as the machine streams it: one LogLine per '\n' line. */
function toLines(text: string, firstSeq = 0): LogLine[] {
  return text.split('\n').map((t, i) => ({ seq: firstSeq + i, ts: 0, stream: 'stdout' as const, text: t }));
}

/** A small deterministic PRNG (mulberry32), so a failure names the seed that reproduces it. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Cuts lines into frames of random size (1 line to maxFrame), as the live stream and replay pages do. */
function randomChunks(lines: LogLine[], seed: number, maxFrame: number): LogLine[][] {
  const r = rng(seed);
  const out: LogLine[][] = [];
  for (let i = 0; i < lines.length;) {
    const n = 1 + Math.floor(r() * maxFrame);
    out.push(lines.slice(i, i + n));
    i += n;
  }
  return out;
}

describe('incremental diagnostics', () => {
  const files = logFiles();

  it('has the real fixtures to work on', () => {
    expect(files.length).toBeGreaterThan(20);
  });

  it.each(files.map((f) => [f.slice(FIXTURES.length + 1)]))(
    '%s: equal to one full parse however the log is chunked, and after every frame while exact',
    (name) => {
      const lines = toLines(readFileSync(join(FIXTURES, name), 'utf8'));
      const full = diagnosticsOf(lines);
      for (let seed = 1; seed <= 6; seed++) {
        const inc = new IncrementalDiagnostics();
        let seen = 0;
        for (const frame of randomChunks(lines, seed, seed * 7)) {
          inc.push(frame);
          seen += frame.length;
          if (inc.exact)
            expect(inc.diagnostics, `${name} seed ${seed} at line ${seen}`).toEqual(
              diagnosticsOf(lines.slice(0, seen)),
            );
        }
        inc.finish();
        expect(inc.diagnostics, `${name} seed ${seed}`).toEqual(full);
      }
    },
  );

  it('all fixtures one after another (every shape, many stretches): equal to a full parse', () => {
    const lines = toLines(files.map((f) => readFileSync(f, 'utf8')).join('\n'));
    const full = diagnosticsOf(lines);
    expect(full.length).toBeGreaterThan(50);
    for (let seed = 1; seed <= 5; seed++) {
      const inc = new IncrementalDiagnostics();
      for (const frame of randomChunks(lines, seed, 200)) inc.push(frame);
      inc.finish();
      expect(inc.diagnostics, `seed ${seed}`).toEqual(full);
    }
  });

  it('a gcc diagnostic split across frames at every possible point is found whole, with its include chain', () => {
    const text = [
      '[3/9] Building C object esp-idf/main/CMakeFiles/__idf_main.dir/main.c.obj',
      'FAILED: esp-idf/main/CMakeFiles/__idf_main.dir/main.c.obj',
      'In file included from /ws/project/main/board.h:2,',
      '                 from /ws/project/main/main.c:3:',
      "/opt/idf/components/driver/include/driver/gpio.h:12:5: error: unknown type name 'gpio_x'",
      '   12 |     gpio_x pin;',
      '      |     ^~~~~~',
      "/ws/project/main/main.c:9:5: error: expected ';' before '}' token",
      '[4/9] Building C object esp-idf/main/CMakeFiles/__idf_main.dir/util.c.obj',
    ].join('\n');
    const lines = toLines(text);
    const full = diagnosticsOf(lines);
    expect(full.map((d) => `${d.file}:${d.line}`)).toEqual([
      'main/main.c:9',
      '/opt/idf/components/driver/include/driver/gpio.h:12',
    ]);
    expect(full[1].includedFrom.map((s) => `${s.file}:${s.line}`)).toEqual(['main/board.h:2', 'main/main.c:3']);
    for (let cut = 1; cut < lines.length; cut++) {
      const inc = new IncrementalDiagnostics();
      inc.push(lines.slice(0, cut));
      inc.push(lines.slice(cut));
      expect(inc.diagnostics, `cut at ${cut}`).toEqual(full);
    }
  });

  it('parses each line a bounded number of times: a 100,000-line build is not quadratic', () => {
    const lines: LogLine[] = [];
    for (let i = 0; i < 100_000; i++) {
      const text =
        i % 5000 === 4999
          ? `/ws/project/main/m${i}.c:${i}:1: warning: unused variable 'x' [-Wunused-variable]`
          : `[${i}/100000] Building C object esp-idf/c${i}/CMakeFiles/x.dir/f${i}.c.obj`;
      lines.push({ seq: i, ts: 0, stream: 'stdout', text });
    }
    let parsedLines = 0;
    const inc = new IncrementalDiagnostics({ onParse: (n) => (parsedLines += n) });
    for (const frame of randomChunks(lines, 7, 300)) inc.push(frame);
    inc.finish();
    expect(inc.diagnostics).toHaveLength(20);
    expect(parsedLines).toBeLessThan(3 * lines.length);
  });

  it('a log without stretch boundaries is re-parsed geometrically, not on every frame', () => {
    const lines = toLines(
      Array.from({ length: 50_000 }, (_, i) => `-- line ${i} of a long CMake configure`).join('\n'),
    );
    let parsedLines = 0;
    const inc = new IncrementalDiagnostics({ onParse: (n) => (parsedLines += n) });
    for (const frame of randomChunks(lines, 3, 100)) inc.push(frame);
    inc.finish();
    expect(inc.exact).toBe(true);
    expect(parsedLines).toBeLessThan(12 * lines.length);
  });

  it('the feed parses a slice per task, publishes only changes, and covers every line after end', () => {
    const lines = toLines(files.map((f) => readFileSync(f, 'utf8')).join('\n'));
    const tasks: (() => void)[] = [];
    const published: Diagnostic[][] = [];
    const feed = new DiagnosticsFeed({
      publish: (d) => published.push(d),
      schedule: (fn) => tasks.push(fn),
      sliceLines: 300,
    });
    for (const frame of randomChunks(lines, 11, 2000)) feed.push(frame);
    // Nothing is parsed where the lines arrive: one task is queued.
    expect(tasks).toHaveLength(1);
    expect(published).toHaveLength(0);
    feed.end();
    let ran = 0;
    while (tasks.length) {
      tasks.shift()!();
      ran++;
    }
    expect(ran).toBeGreaterThanOrEqual(Math.ceil(lines.length / 300));
    expect(published.at(-1)).toEqual(diagnosticsOf(lines));
    for (let k = 1; k < published.length; k++) expect(published[k]).not.toBe(published[k - 1]);
  });
});
