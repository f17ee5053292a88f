import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseBuildDiagnostics } from '../src/index.js';

/**
 * The parser's work must grow linearly with the input: no regular expression may backtrack over a long line. The
 * CPU time this process spends (process.cpuUsage: work done, not wall time, so other load on the machine does not
 * count) is compared between an input and one 4× as long (linear ≈ 4×, quadratic ≈ 16×); the bound is generous and
 * never an absolute time.
 */
function cost(make: (n: number) => string, n: number): number {
  const input = make(n);
  let best = Infinity;
  for (let k = 0; k < 5; k++) {
    const before = process.cpuUsage();
    parseBuildDiagnostics(input);
    const used = process.cpuUsage(before);
    best = Math.min(best, used.user + used.system);
  }
  return Math.max(best, 50);
}

function growth(make: (n: number) => string, n: number): number {
  cost(make, n); // warm the JIT on this shape
  return cost(make, 4 * n) / cost(make, n);
}

const E = '\u001b';
/** One long line of each shape that made a backtracking parser slow (n characters or so). */
const LONG_LINES: Record<string, (n: number) => string> = {
  'CMake Error at … without the closing colon': (n) => `CMake Error at ${'a'.repeat(n)}`,
  // The shape that took the earlier regex parser 18 s: each unclosed " (" rescanned the rest of the line.
  'CMake Error at … with unclosed " ("': (n) => `CMake Error at ${'x ('.repeat(n / 3)}`,
  'CMake Error at … with (…) and colons': (n) => `CMake Error at ${'x:1 ('.repeat(n / 5)}):`,
  'gcc-like colons and digits': (n) => `${'a:1'.repeat(n / 3)}`,
  'a path of colons, no line': (n) => `${'a:'.repeat(n / 2)} error: x`,
  'ld prefix and many ": "': (n) => `ld: ${'x: '.repeat(n / 3)}`,
  'undefined reference after a long location': (n) => `${'o.o:'.repeat(n / 4)}(.text): undefined reference to \`f'`,
  'multiple definition with many "; "': (n) => `a.c:1: multiple definition of \`f'${'; x'.repeat(n / 3)}`,
  'unterminated OSC strings': (n) => `${E}]0;`.repeat(n / 4),
  'unterminated CSI sequences': (n) => `${E}[1;`.repeat(n / 4),
  'progress dots then a header': (n) => `${'.'.repeat(n)}CMake Error at x.cmake:1 (message):`,
  'an ERROR: paragraph': (n) => `ERROR: ${'word '.repeat(n / 5)}`,
  'a Windows path of drive letters': (n) => `${'C:/'.repeat(n / 3)}:1:1: error: x`,
  'a region overflow message': (n) => `ld: region \`${'x'.repeat(n)}' overflowed by 1 bytes`,
};

describe('parseBuildDiagnostics works in linear time', () => {
  it.each(Object.keys(LONG_LINES))('a 200,000-character line: %s', (name) => {
    const make = LONG_LINES[name];
    // Still parsed (no crash), and the 800,000-character line costs about 4× the 200,000-character one.
    parseBuildDiagnostics(make(200_000));
    const ratio = growth(make, 200_000);
    expect(ratio, `${name}: 4× the input took ${ratio.toFixed(1)}× the time`).toBeLessThan(10);
  });

  it('many lines: a 200,000-line CMake message body and a traceback of 100,000 frames', () => {
    const cmake = (n: number) => `CMake Error at x.cmake:1 (message):\n${'  more text\n\n'.repeat(n / 12)}`;
    const tb = (n: number) =>
      `Traceback (most recent call last):\n${'  File "a.py", line 1, in f\n    f()\n'.repeat(n / 40)}E: x\n`;
    expect(growth(cmake, 200_000)).toBeLessThan(10);
    expect(growth(tb, 400_000)).toBeLessThan(10);
  });

  it('8 MiB of real failure logs: 4× the log is about 4× the work and finds 4× the diagnostics', () => {
    const dir = fileURLToPath(new URL('./fixtures/diagnostics/', import.meta.url));
    const logs = readdirSync(dir)
      .filter((f) => f.endsWith('.log'))
      .map((f) => readFileSync(dir + f, 'utf8'))
      .join('\n');
    const mib = (m: number) => {
      const parts: string[] = [];
      let size = 0;
      while (size < m) {
        parts.push(logs);
        size += logs.length;
      }
      return parts.join('\n');
    };
    const big = mib(8 * 1024 * 1024);
    const small = mib(2 * 1024 * 1024);
    const bigFound = parseBuildDiagnostics(big).length;
    const smallFound = parseBuildDiagnostics(small).length;
    expect(bigFound / smallFound).toBeCloseTo(big.length / small.length, 1);
    const ratio = growth((n) => (n === 2 ? small : big), 2); // growth() asks for n and 4n
    expect(ratio, `8 MiB took ${ratio.toFixed(1)}× the time of 2 MiB`).toBeLessThan(10);
  });
});
